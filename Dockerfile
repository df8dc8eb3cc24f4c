FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# Static files are collected at build time; whitenoise serves them compressed and hashed.
RUN DJANGO_SETTINGS_MODULE=aifinops.settings.production SECRET_KEY=build-only-not-secret \
    python manage.py collectstatic --no-input
RUN useradd --system --uid 1000 aifinops && mkdir -p var/media && chown -R aifinops var
USER aifinops
EXPOSE 8000
CMD ["gunicorn", "aifinops.wsgi:application", "--bind", "0.0.0.0:8000"]
