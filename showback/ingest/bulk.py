"""The PostgreSQL bulk path for FOCUS files: COPY into a staging table, then set-based SQL.

A FOCUS bill can hold millions of rows. Parsing each in Python and writing it back costs minutes;
here the raw file goes into an unlogged staging table of text columns with COPY, and the rows are
typed, checked, deduplicated, attributed and written by a handful of statements.

Python still decides everything it decides on the row path, through the same functions, but once
per *distinct* value instead of once per row: each distinct set of descriptive columns (meter,
description, unit, category, provider, tags, accounts, currency) goes through the FOCUS importer's
helpers, the catalog resolver and the Attributor, and each distinct timestamp through the
timestamp parser. Their answers go back into small lookup tables that the final INSERT joins. A
real bill has a few thousand such combinations for millions of rows.

The bulk path only takes files it can import exactly as the row path would. A file the staging
COPY cannot read (ragged rows, broken quoting, bad UTF-8) or with any invalid value raises
`NotBulk`; the caller rolls back to its savepoint and imports the file row by row, which names
every rejected line, column and reason. The source row key is the row path's content hash,
computed in SQL, so both paths agree on what is a duplicate.
"""

import csv
import io
import json

from django.db import transaction

from ..attribution.engine import Facts, normalise_tags
from ..categories import is_ai_category
from ..models import SpendRecord
from .importers.base import ImportFileError
from .importers.common import (
    MAX_MONEY,
    MAX_QUANTITY,
    NULL_TEXTS,
    import_limits,
    megabytes,
    parse_currency,
    parse_decimal,
    parse_tags,
    parse_timestamp,
    strip_bom,
    text,
)
from .importers.focus import MAPPED, PROVIDER_COLUMNS, REQUIRED, usage_of
from .importers.readers import CsvReader

COPY_CHUNK = 1 << 20
LOOKUP_BATCH = 10_000
# The descriptive columns that decide provider, model, tokens, currency and attribution. Real bills
# repeat a few thousand combinations of them; the row's figures and ids are not among them.
DIMENSIONS = (
    "ServiceProviderName",
    "ProviderName",
    "ServiceName",
    "ServiceCategory",
    "BillingCurrency",
    "ConsumedUnit",
    "SkuMeter",
    "ChargeDescription",
    "SkuPriceDetails",
    "BillingAccountId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
)
MODEL_COLUMNS = ("model", "modelname", "model_name", "x_model", "x_modelname", "x_model_name")
# A Bedrock model ARN names the model; other resource ids (one per instance) must not multiply
# the combinations, so only ARNs that name a model take part.
ARN_PATTERN = "(foundation-model|inference-profile|custom-model|provisioned-model)/"
PLAIN_NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
NUMBER_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ConsumedQuantity")
# What str.strip() removes in ASCII; Unicode spaces around a value are rare in bills.
WHITESPACE = "E' \\t\\r\\n\\x0b\\x0c'"


class NotBulk(Exception):
    """The file must go through the row path, which explains what is wrong with it."""


def _quote(name):
    return '"' + name.replace('"', '""') + '"'


def _literal(value):
    return "'" + value.replace("'", "''") + "'"


class _Plan:
    """The staging table's columns and the SQL expression of each FOCUS column's normalised text."""

    def __init__(self, header, table):
        self.header, self.table = header, table
        self.columns = {name: f"c{i}" for i, name in enumerate(header)}

    def value(self, name):
        """The column's text as it stands in the file, "" when empty or absent. Normalising every
        value in SQL (trim, null spellings) costs more than the COPY itself: values are normalised
        in Python, once per distinct value, where it decides something (see _decide)."""
        column = self.columns.get(name)
        return f"coalesce({column}, '')" if column else "''"


def header_of(stream):
    """The header line's columns, checked as the row path checks them, and the bytes read so far."""
    first = stream.readline(import_limits().max_line + 1)
    reader = CsvReader(io.BytesIO(first))
    try:
        reader.require(*REQUIRED, any_of=PROVIDER_COLUMNS)
    finally:
        reader.close()
    header = reader.header
    if "" in header or any(strip_bom(name) != name for name in header):
        raise NotBulk("a column without a name")
    try:
        fields = next(csv.reader([first.decode("utf-8-sig")]), [])
    except (csv.Error, UnicodeDecodeError) as exc:  # a bare carriage return inside it, say
        raise NotBulk(f"a header the staging table cannot take: {exc}") from None
    if len(fields) != len(header):
        raise NotBulk("a header over several lines")
    return header, first


def run(*, batch, stream, resolver, on_bytes):
    """Import the FOCUS file in `stream` (un-gzipped, positioned at its start) into SpendRecords.

    Returns (rows read, rows written, first day, last day, billed totals by currency). Raises
    NotBulk when the row path must take the file, ImportFileError for a file no path can read.
    """
    connection = transaction.get_connection()
    header, first_line = header_of(stream)
    plan = _Plan(header, f"afo_stage_{batch.pk}")
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        columns = ", ".join(f"{c} text" for c in plan.columns.values())
        cursor.execute(f"CREATE UNLOGGED TABLE {plan.table} ({columns})")
        read = _copy(cursor, plan, stream, first_line, on_bytes)
        if read == 0:
            return 0, 0, None, None, {}
        _check_required(cursor, plan)
        dims = _dimensions(cursor, plan, resolver)
        times = _timestamps(cursor, plan)
        numbers = _numbers(cursor, plan)
        _check_values(cursor, plan, times, numbers)
        written, first, last, totals = _insert(cursor, plan, batch, dims, times, numbers)
        for table in (plan.table, dims, times, numbers):
            cursor.execute(f"DROP TABLE {table}")
    return read, written, first, last, totals


class _RecordGuard:
    """COPY holds a whole record in PostgreSQL's memory: one endless line, or a quote opened and never
    closed, must be stopped here, while the file streams. A line over the limit is refused naming it;
    a quoted value over the limit goes row by row, whose CSV reader names its line."""

    def __init__(self, limit):
        self.limit, self.line, self.run, self.quoted = limit, 1, 0, False

    def check(self, data):
        position = 0
        while True:
            newline = data.find(b"\n", position)
            end = len(data) if newline < 0 else newline
            if data.count(b'"', position, end) % 2:
                self.quoted = not self.quoted
            self.run += end - position
            if self.run > self.limit:
                if self.quoted:
                    raise NotBulk(f"a quoted value from line {self.line} runs past {megabytes(self.limit)}")
                raise ImportFileError(
                    f"Line {self.line} is longer than {megabytes(self.limit)}, the limit "
                    "(IMPORT_MAX_LINE_KB): is it a CSV export with one row per line? Export it again."
                )
            if newline < 0:
                return
            self.line, position = self.line + 1, newline + 1
            self.run = self.run + 1 if self.quoted else 0


def _copy(cursor, plan, stream, first_line, on_bytes):
    from psycopg import errors

    names = ", ".join(plan.columns.values())
    lines, last = first_line.count(b"\n"), first_line[-1:]
    guard = _RecordGuard(import_limits().max_line)
    guard.check(first_line)
    try:
        with cursor.copy(f"COPY {plan.table} ({names}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(first_line)
            while data := stream.read(COPY_CHUNK):
                guard.check(data)
                copy.write(data)
                lines, last = lines + data.count(b"\n"), data[-1:]
                on_bytes()
    except (errors.BadCopyFileFormat, errors.CharacterNotInRepertoire, errors.UntranslatableCharacter) as exc:
        raise NotBulk(str(exc)) from None
    except errors.DataError as exc:
        raise NotBulk(str(exc)) from None
    # PostgreSQL's CSV parser opens a quoted section at a quote anywhere in a field, Python's only at
    # its start: a stray quote makes COPY join lines that Python keeps apart. One record per line is
    # what the two agree on; anything else (a value over several lines included) goes row by row.
    records = lines + (1 if last not in (b"\n", b"") else 0) - 1
    if cursor.rowcount != records:
        raise NotBulk(f"{cursor.rowcount} records in {records} lines: quoting PostgreSQL reads differently")
    return cursor.rowcount


def _check_required(cursor, plan):
    # Blanks and null spellings ("NULL", " ") fail later, in the lookups or _check_values.
    empty = " OR ".join(f"{plan.value(c)} = ''" for c in REQUIRED)
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {plan.table} WHERE {empty})")
    if cursor.fetchone()[0]:
        raise NotBulk("a mandatory value is empty")


def _dimension_keys(plan):
    """(column, SQL expression) of each key of the dimensions table: the lookup's SELECT DISTINCT
    and the final INSERT's join both read them from here, so the two cannot drift apart."""
    columns = list(DIMENSIONS)
    columns += [c for c in plan.header if c.casefold() in MODEL_COLUMNS and c not in columns]
    keys = [(c, plan.value(c)) for c in columns]
    for name in ("ResourceId", "ResourceName"):
        value = plan.value(name)
        keys.append((name, f"(CASE WHEN {value} ~ {_literal(ARN_PATTERN)} THEN {value} ELSE '' END)"))
    return keys


def _dimensions(cursor, plan, resolver):
    """One lookup row per distinct combination of descriptive columns, decided by the row path's code."""
    names, selects = zip(*_dimension_keys(plan), strict=True)
    keys = [f"k{i}" for i in range(len(selects))]
    table = f"afo_dims_{plan.table.rsplit('_', 1)[1]}"
    key_columns = ", ".join(f"{k} text" for k in keys)
    cursor.execute(
        f"CREATE TEMP TABLE {table} ({key_columns}, provider_id bigint, model_id bigint, "
        "model_name text, token_type text, multiplier numeric, unit text, is_ai boolean, "
        "use_case_id bigint, team_id bigint, environment text, customer text, feature text, "
        "attributed_by text, tags jsonb, currency text, provider_name text, sub_account text, "
        "service_name text, service_category text, billing_account text) ON COMMIT DROP"
    )
    _fill(
        cursor,
        f"SELECT DISTINCT {', '.join(f'{s} AS {k}' for s, k in zip(selects, keys, strict=True))} "
        f"FROM {plan.table}",
        table,
        lambda combo: [*combo, *_decide(dict(zip(names, combo, strict=True)), resolver)],
    )
    return table


def _fill(cursor, query, table, decide):
    """Stream the distinct values of `query` through `decide` into the lookup `table`, a batch at a
    time (a server-side cursor, so a file with very many distinct values still fits in memory)."""
    with cursor.connection.cursor(name=f"{table}_scan") as scan:
        scan.execute(query)
        while batch := scan.fetchmany(LOOKUP_BATCH):
            with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                for values in batch:
                    copy.write_row(decide(values))
    cursor.execute(f"ANALYZE {table}")


def _decide(raw, resolver):
    """What the FOCUS importer and the import pipeline decide for a row with these descriptive columns."""
    row = {name: text(value) for name, value in raw.items()}
    try:
        currency = parse_currency(row["BillingCurrency"])
        tags = parse_tags(row["Tags"])
    except ValueError as exc:
        raise NotBulk(str(exc)) from None
    unit, multiplier, token_type, model_name = usage_of(row)
    category = row["ServiceCategory"]
    provider_name = row["ServiceProviderName"] or row["ProviderName"]
    sub_account = row["SubAccountId"] or row["SubAccountName"]
    provider = resolver.provider(provider_name, row["ServiceName"])
    model = resolver.model(model_name, provider)
    found = resolver.attributor.attribute(
        Facts(
            tags=normalise_tags(tags),
            sub_account=sub_account,
            billing_account=row["BillingAccountId"],
            service=row["ServiceName"],
            provider=provider_name,
        )
    )
    is_ai = is_ai_category(category) or found.use_case is not None
    attributed = found.record_fields()
    return [
        provider.pk if provider else None,
        model.pk if model else None,
        model_name[:150],
        token_type,
        multiplier,
        unit[:32],
        is_ai,
        *(
            attributed[name]
            for name in ("use_case_id", "team_id", "environment", "customer", "feature", "attributed_by")
        ),
        json.dumps(tags),
        currency,
        provider_name[:100],
        sub_account[:150],
        row["ServiceName"][:150],
        category[:100],
        row["BillingAccountId"][:150],
    ]


def _timestamps(cursor, plan):
    """Each distinct period text, parsed by the row path's parser (bills repeat a few hundred)."""
    table = f"afo_times_{plan.table.rsplit('_', 1)[1]}"
    cursor.execute(f"CREATE TEMP TABLE {table} (raw text PRIMARY KEY, moment timestamptz) ON COMMIT DROP")
    start, end = plan.value("ChargePeriodStart"), plan.value("ChargePeriodEnd")
    _fill(
        cursor,
        f"SELECT {start} FROM {plan.table} UNION SELECT {end} FROM {plan.table}",
        table,
        lambda values: [values[0], _timestamp(values[0])],
    )
    return table


def _timestamp(raw):
    try:
        moment = parse_timestamp(raw)
    except ValueError as exc:
        raise NotBulk(str(exc)) from None
    if moment is None:
        raise NotBulk("a charge period is blank")
    return moment


def _numbers(cursor, plan):
    """Numbers PostgreSQL cannot cast as they are ("$1,234.50", "(12.00)"), parsed by the row path."""
    table = f"afo_numbers_{plan.table.rsplit('_', 1)[1]}"
    cursor.execute(f"CREATE TEMP TABLE {table} (raw text PRIMARY KEY, number numeric) ON COMMIT DROP")
    odd = " UNION ".join(
        f"SELECT {plan.value(c)} FROM {plan.table} WHERE {plan.value(c)} <> '' "
        f"AND {plan.value(c)} !~ {_literal(PLAIN_NUMBER)}"
        for c in NUMBER_COLUMNS
    )
    _fill(cursor, odd, table, lambda values: [values[0], _decimal(values[0])])
    return table


def _decimal(raw):
    try:
        return parse_decimal(raw)
    except ValueError as exc:
        raise NotBulk(str(exc)) from None


def _number(plan, column, numbers):
    value = plan.value(column)
    return (
        f"(CASE WHEN {value} = '' THEN NULL WHEN {value} ~ {_literal(PLAIN_NUMBER)} THEN {value}::numeric "
        f"ELSE (SELECT n.number FROM {numbers} n WHERE n.raw = {value}) END)"
    )


def _check_values(cursor, plan, times, numbers):
    """Any value the row path would reject sends the file there, to be explained row by row."""
    start, end = plan.value("ChargePeriodStart"), plan.value("ChargePeriodEnd")
    out_of_range = " OR ".join(
        f"abs({_number(plan, c, numbers)}) >= {limit}"
        for c, limit in (
            ("BilledCost", MAX_MONEY),
            ("EffectiveCost", MAX_MONEY),
            ("ListCost", MAX_MONEY),
            ("ConsumedQuantity", MAX_QUANTITY),
        )
    )
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {plan.table} s JOIN {times} a ON a.raw = {start} "
        f"JOIN {times} b ON b.raw = {end} "
        f"WHERE b.moment < a.moment OR {_number(plan, 'BilledCost', numbers)} IS NULL OR {out_of_range})"
    )
    if cursor.fetchone()[0]:
        raise NotBulk("a period ends before it starts, a billed cost is blank, or a number is out of range")


def _kept(plan, name):
    """The column's value as it stands in the file, or NULL where the row path sees it as empty
    (blank, or a null spelling). Most values are settled by their first and last byte and their
    length, which costs far less than trimming and lower-casing every value of a million rows."""
    value = plan.value(name)
    nulls = ", ".join(_literal(n) for n in sorted(NULL_TEXTS))
    return (
        f"(CASE WHEN {value} = '' THEN NULL "
        f"WHEN octet_length({value}) > 4 AND ascii({value}) > 32 AND ascii(right({value}, 1)) > 32 "
        f"THEN {value} "
        f"WHEN lower(btrim({value}, {WHITESPACE})) IN ({nulls}) THEN NULL ELSE {value} END)"
    )


def _extras(plan):
    """raw_extras as the FOCUS importer builds it: every other non-empty column, as text."""
    pairs = [(name, _kept(plan, name)) for name in plan.header if name not in MAPPED]
    if "HostProviderName" in plan.columns:
        pairs = [p for p in pairs if p[0] != "PublisherName"]
        either = f"coalesce({_kept(plan, 'PublisherName')}, {_kept(plan, 'HostProviderName')})"
        pairs.append(("PublisherName", either))
    if "ServiceProviderName" in plan.columns and "ProviderName" in plan.columns:
        service_provider, provider = _kept(plan, "ServiceProviderName"), _kept(plan, "ProviderName")
        kept = f"(CASE WHEN {service_provider} IS NOT NULL THEN {provider} END)"
        pairs.append(("ProviderName", kept))
    if not pairs:
        return "'{}'::jsonb"
    parts = []
    for i in range(0, len(pairs), 50):  # a function takes at most 100 arguments
        args = ", ".join(f"{_literal(k)}, {v}" for k, v in pairs[i : i + 50])
        parts.append(f"jsonb_build_object({args})")
    return f"jsonb_strip_nulls({' || '.join(parts)})"


def _row_key(plan):
    """content_hash of the row's sorted non-empty column=value pairs, values as they stand in the
    file, exactly as the FOCUS importer keys rows."""
    pairs = ", ".join(
        f"CASE WHEN {plan.value(name)} <> '' THEN {_literal(name + '=')} || {plan.value(name)} END"
        for name in sorted(plan.header)
    )
    return f"left(encode(sha256(convert_to(concat_ws(E'\\x1f', {pairs}), 'UTF8')), 'hex'), 40)"


def _insert(cursor, plan, batch, dims, times, numbers):
    join = " AND ".join(f"d.k{i} = {value}" for i, (_, value) in enumerate(_dimension_keys(plan)))
    # Each typed value is computed once, in the inner query (OFFSET 0 keeps the planner from
    # flattening it and repeating the casts in every expression that uses them).
    inner = {
        "billed": _number(plan, "BilledCost", numbers),
        "effective": _number(plan, "EffectiveCost", numbers),
        "listed": _number(plan, "ListCost", numbers),
        "consumed": f"coalesce({_number(plan, 'ConsumedQuantity', numbers)}, 0) * coalesce(d.multiplier, 1)",
        "starts": "a.moment",
        "ends": "b.moment",
    }
    whole = "trunc(t.consumed)::bigint"
    values = {
        "source": _literal(batch.source_format),
        "source_row_key": _row_key(plan),
        "imported_at": "now()",
        "charge_period_start": "t.starts",
        "charge_period_end": "t.ends",
        "provider_id": "t.provider_id",
        "provider_name": "t.provider_name",
        "service_name": "t.service_name",
        "service_category": "t.service_category",
        "model_id": "t.model_id",
        "model_name": "t.model_name",
        "token_type": "t.token_type",
        "quantity": "t.consumed",
        "unit": "t.unit",
        "billed_cost": "t.billed",
        "effective_cost": "coalesce(t.effective, t.billed)",
        "list_cost": "coalesce(t.listed, t.effective, t.billed)",
        "currency": "t.currency",
        "is_estimated": "false",
        "is_ai": "t.is_ai",
        "billing_account": "t.billing_account",
        "sub_account": "t.sub_account",
        "api_key": "''",
        "user_label": "''",
        "tags": "t.tags",
        "use_case_id": "t.use_case_id",
        "team_id": "t.team_id",
        "environment": "t.environment",
        "raw_extras": _extras(plan),
        "customer": "t.customer",
        "feature": "t.feature",
        "attributed_by": "t.attributed_by",
        "input_tokens": f"(CASE WHEN t.token_type = 'input' THEN {whole} ELSE 0 END)",
        "cached_tokens": (
            f"(CASE WHEN t.token_type IN ('cached_input', 'cache_write') THEN {whole} ELSE 0 END)"
        ),
        "output_tokens": f"(CASE WHEN t.token_type IN ('output', 'reasoning') THEN {whole} ELSE 0 END)",
        "requests": "0",
        "import_batch_id": str(int(batch.pk)),
    }
    fields = [f for f in SpendRecord._meta.concrete_fields if not f.primary_key]
    missing = {f.column for f in fields} ^ set(values)
    assert not missing, f"the bulk path does not fill {missing}"
    target = SpendRecord._meta.db_table
    names = ", ".join(_quote(f.column) for f in fields)
    expressions = ", ".join(values[f.column] for f in fields)
    typed = ", ".join(f"{expression} AS {name}" for name, expression in inner.items())
    start, end = plan.value("ChargePeriodStart"), plan.value("ChargePeriodEnd")
    # Joins on many columns fool the planner's row estimates into nested loops over a million rows.
    cursor.execute("SET LOCAL enable_nestloop = off")
    cursor.execute(
        f"WITH written AS (INSERT INTO {target} ({names}) "
        f"SELECT {expressions} FROM (SELECT s.*, d.*, {typed} FROM {plan.table} s "
        f"JOIN {dims} d ON {join} JOIN {times} a ON a.raw = {start} JOIN {times} b ON b.raw = {end} "
        "OFFSET 0) t "
        "ON CONFLICT (source, source_row_key) DO NOTHING "
        "RETURNING charge_period_start, billed_cost, currency) "
        "SELECT currency, count(*), sum(billed_cost), min(charge_period_start), max(charge_period_start) "
        "FROM written GROUP BY currency"
    )
    rows = cursor.fetchall()
    cursor.execute("RESET enable_nestloop")
    written, first, last, totals = 0, None, None, {}
    for currency, count, total, low, high in rows:
        written += count
        totals[currency] = total
        first = min(first, low.date()) if first else low.date()
        last = max(last, high.date()) if last else high.date()
    return written, first, last, totals
