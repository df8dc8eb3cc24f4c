"""Spend in: the importers (one per format), the import service and its FOCUS bulk path, the
upload pages, the import API and the import task. New rows are attributed by `showback.attribution`.
"""
