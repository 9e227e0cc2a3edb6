"""Incidents (and contracts, packs) from CSV or Parquet files beside the workbook's Settings:
the same records as from the sheets, the same checks, problems naming the file, the row as a
spreadsheet shows the file (header = row 1) and the column."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.app.workbooks.invoicing import write_invoicing_workbook
from xlquote.cli import main
from xlquote.engine.errors import InputError
from xlquote.engine.records import CONTRACT_FIELDS, INCIDENT_FIELDS, field_names
from xlquote.readers.workbook import read_invoicing_workbook

MONTH = "2026-10"


@pytest.fixture()
def workbook(tmp_path: Path) -> Path:
    return write_invoicing_workbook(tmp_path / "book.xlsx", sample_contracts(), sample_incidents(),
                                    sample_packs(), sample_settings())


def write_csv(path: Path, records: list[dict[str, Any]], names: list[str],
              encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for record in records:
            writer.writerow(["" if record.get(n) is None else
                             ("TRUE" if record[n] is True else record[n]) for n in names])
    return path


def write_parquet(path: Path, records: list[dict[str, Any]], names: list[str],
                  types: dict[str, pa.DataType] | None = None) -> Path:
    columns = {}
    for name in names:
        values = [r.get(name) for r in records]
        kind = (types or {}).get(name)
        if kind is None:
            kinds = {type(v) for v in values if v is not None}
            kind = (pa.date32() if kinds <= {dt.date} and kinds else
                    pa.bool_() if kinds == {bool} else
                    pa.float64() if kinds and kinds <= {int, float} else pa.string())
        columns[name] = pa.array(values, type=kind)
    pq.write_table(pa.table(columns), path, row_group_size=16)  # several dictionaries
    return path


def records_of(data: Any) -> tuple[Any, ...]:
    t = data.incidents
    return (data.contracts, data.packs, t.incident_id.tolist(), t.closed.tolist(),
            t.measures.minutes.tolist(), t.fee_limit.tolist(), t.personal.tolist())


def test_incidents_from_csv_and_parquet_give_the_records_of_the_sheet(workbook, tmp_path):
    names = field_names(INCIDENT_FIELDS)
    from_sheet = records_of(read_invoicing_workbook(workbook))
    for file in (write_csv(tmp_path / "incidents.csv", sample_incidents(), names),
                 write_csv(tmp_path / "incidents_sjis.csv", sample_incidents(), names, "cp932"),
                 write_parquet(tmp_path / "incidents.parquet", sample_incidents(), names)):
        data = read_invoicing_workbook(workbook, record_files={"Incidents": file})
        assert records_of(data) == from_sheet, file.name


def test_contracts_from_a_file_too(workbook, tmp_path):
    file = write_csv(tmp_path / "contracts.csv", sample_contracts(), field_names(CONTRACT_FIELDS))
    data = read_invoicing_workbook(workbook, record_files={"Contracts": file})
    assert data.contracts == read_invoicing_workbook(workbook).contracts


def test_a_bad_csv_value_is_named_by_file_row_and_column(workbook, tmp_path):
    incidents = sample_incidents()
    incidents[2]["minutes"] = "ten"
    incidents[4]["minutes"] = "#N/A"  # a value, not a blank
    incidents[5]["closed"] = "14.10.2026"
    file = write_csv(tmp_path / "incidents.csv", incidents, field_names(INCIDENT_FIELDS))
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    found = {(p.sheet, p.row, p.field, p.value) for p in caught.value.problems}
    assert found == {("incidents.csv", 4, "minutes", "ten"), ("incidents.csv", 6, "minutes", "#N/A"),
                     ("incidents.csv", 7, "closed", "14.10.2026")}
    assert str(caught.value.problems[0]).startswith(
        "ファイル incidents.csv 4行目 列 minutes: 'ten' — 数値として読めません")


def test_parquet_nan_and_impossible_dates_are_named(workbook, tmp_path):
    incidents = sample_incidents()
    incidents[0]["minutes"] = float("nan")
    incidents[3]["opened"] = dt.date(1850, 1, 1)
    file = write_parquet(tmp_path / "incidents.parquet", incidents, field_names(INCIDENT_FIELDS),
                         {"minutes": pa.float64()})
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    found = {(p.row, p.field, p.value, p.reason.split("。")[0]) for p in caught.value.problems}
    assert found == {(2, "minutes", "NaN", "セルに入る数値ではありません (NaN・無限大)"),
                     (5, "opened", "1850-01-01", "Excel で表せる日付 (1900〜9999 年) ではありません")}



def test_a_parquet_date_far_beyond_9999_is_named_whole(workbook, tmp_path):
    """Named cut to ten characters before: 「'192101-03-'」."""
    incidents = sample_incidents()[:3]
    names = field_names(INCIDENT_FIELDS)
    file = write_parquet(tmp_path / "incidents.parquet", incidents, names)
    table = pq.read_table(file)
    epoch_days = (dt.date(2026, 10, 1) - dt.date(1970, 1, 1)).days
    far = pa.array([epoch_days, epoch_days, 69_444_000], pa.int32()).cast(pa.date32())  # 192101
    pq.write_table(table.set_column(table.schema.get_field_index("opened"), "opened", far), file)
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    (problem,) = [p for p in caught.value.problems if p.field == "opened"]
    assert (problem.row, problem.value) == (4, "192101-03-20")


def test_a_missing_column_and_a_broken_file_are_refused(workbook, tmp_path):
    names = [n for n in field_names(INCIDENT_FIELDS) if n != "channel"]
    file = write_csv(tmp_path / "incidents.csv", sample_incidents(), names)
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    (first,) = caught.value.problems  # the missing column, once: not again on every row
    assert (first.sheet, first.row, first.field) == ("incidents.csv", 1, "channel")
    assert first.reason.startswith("必須の列がありません")
    broken = tmp_path / "incidents.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": broken})
    assert (caught.value.problems[0].field, caught.value.problems[0].value) == (
        "file", "incidents.parquet")
    assert "Parquet ファイルとして読めません" in caught.value.problems[0].reason


def test_the_cli_bills_the_month_from_a_parquet_log(workbook, tmp_path, capsys):
    file = write_parquet(tmp_path / "incidents.parquet", sample_incidents(),
                         field_names(INCIDENT_FIELDS))
    code = main(["invoice", str(workbook), "--month", MONTH, "--out", str(tmp_path / "a"),
                 "--json"])
    sheet_run = json.loads(capsys.readouterr().out)
    code_file = main(["invoice", str(workbook), "--month", MONTH, "--out", str(tmp_path / "b"),
                      "--json", "--incidents", str(file)])
    file_run = json.loads(capsys.readouterr().out)
    assert code == code_file and file_run["total"] == sheet_run["total"]
    assert file_run["invoice_count"] == sheet_run["invoice_count"]
    bad = write_csv(tmp_path / "bad.csv", [{**sample_incidents()[0], "minutes": "x"}],
                    field_names(INCIDENT_FIELDS))
    assert main(["invoice", str(workbook), "--month", MONTH, "--out", str(tmp_path / "c"),
                 "--json", "--incidents", str(bad)]) == 2
    problem = json.loads(capsys.readouterr().out)["problems"][0]
    assert (problem["sheet"], problem["row"], problem["column"]) == ("bad.csv", 2, "minutes")
    assert not (tmp_path / "c").exists()


def test_a_parquet_compression_bomb_is_refused_before_it_is_unpacked(workbook, tmp_path,
                                                                     monkeypatch):
    """A long text repeated in every row packs into a few bytes (dictionary encoding) and
    would unpack to gigabytes: refused from the file's own figures, before decoding."""
    monkeypatch.setattr("xlquote.readers.record_files.MAX_DATA_BYTES", 10 * 2**20)
    rows = 2_000
    table = pa.table({"incident_id": [f"I-{i}" for i in range(rows)],
                      "description": ["x" * 30_000] * rows})
    pq.write_table(table, tmp_path / "bomb.parquet", compression="zstd")
    assert (tmp_path / "bomb.parquet").stat().st_size < 2**20
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": tmp_path / "bomb.parquet"})
    (problem,) = caught.value.problems
    assert problem.value == "bomb.parquet" and "description" in problem.reason


def test_parquet_integers_a_number_cell_cannot_hold_are_named(workbook, tmp_path):
    """int64 past 2**53 would be read as a nearby other number (and Arrow refused the cast
    with a traceback): each such cell is named, the file refused."""
    incidents = sample_incidents()
    incidents[0]["minutes"] = 2**63 - 1
    incidents[3]["minutes"] = 2**53 + 2
    incidents[4]["minutes"] = -(2**53) - 2
    incidents[5]["minutes"] = 2**53  # still exact: read, then refused by the field's limit
    file = write_parquet(tmp_path / "incidents.parquet", incidents, field_names(INCIDENT_FIELDS),
                         {"minutes": pa.int64()})
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    inexact = {(p.sheet, p.row, p.field, p.value) for p in caught.value.problems
               if p.reason.startswith("整数が大きすぎて正確には読めません")}
    assert inexact == {("incidents.parquet", 2, "minutes", str(2**63 - 1)),
                       ("incidents.parquet", 5, "minutes", str(2**53 + 2)),
                       ("incidents.parquet", 6, "minutes", str(-(2**53) - 2))}
    assert [(p.row, p.value) for p in caught.value.problems if p not in inexact
            and p.reason.startswith("100,000 以下")] == [(7, 2**53)]


def test_a_parquet_decimal_a_number_cell_cannot_hold_is_named_as_written(workbook, tmp_path):
    """Cast to a float first: 「9…9」 (76 digits) was named as 10000000000000000470…1392."""
    import decimal

    incidents = sample_incidents()
    huge = decimal.Decimal("9" * 70)
    incidents[0]["minutes"] = huge
    file = write_parquet(tmp_path / "incidents.parquet", incidents, field_names(INCIDENT_FIELDS),
                         {"minutes": pa.decimal256(76, 0)})
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    assert [(p.row, p.value) for p in caught.value.problems
            if p.reason.startswith("整数が大きすぎて正確には読めません")] == [(2, "9" * 70)]


def test_a_parquet_column_named_twice_is_named(workbook, tmp_path):
    table = pq.read_table(write_parquet(tmp_path / "one.parquet", sample_incidents(),
                                        field_names(INCIDENT_FIELDS)))
    twice = pa.Table.from_arrays([*table.columns, table.column("minutes")],
                                 names=[*table.column_names, "minutes"])
    pq.write_table(twice, tmp_path / "incidents.parquet")
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": tmp_path / "incidents.parquet"})
    (problem,) = caught.value.problems
    assert (problem.sheet, problem.row, problem.field) == ("incidents.parquet", 1, "minutes")
    assert problem.reason.startswith("同じ見出しの列が 2 つあります")


@pytest.mark.parametrize(("kind", "value"), [
    (pa.duration("s"), dt.timedelta(minutes=5)),  # 300 seconds was billed as 300 minutes
    (pa.time32("ms"), dt.time(0, 5)),
    (pa.binary(), b"5"),
    (pa.list_(pa.int64()), [5]),
])
@pytest.mark.parametrize("field", ["minutes", "description"])
def test_a_parquet_column_of_a_type_no_cell_holds_is_refused(workbook, tmp_path, kind, value,
                                                             field):
    incidents = [{**record, field: value} for record in sample_incidents()]
    file = write_parquet(tmp_path / "incidents.parquet", incidents, field_names(INCIDENT_FIELDS),
                         {field: kind})
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    (problem,) = caught.value.problems  # the column, once
    assert (problem.sheet, problem.row, problem.field, problem.value) == (
        "incidents.parquet", None, field, str(pq.read_schema(file).field(field).type))
    assert problem.reason.startswith("この型の列は読めません")
    assert ("duration" in problem.reason) == pa.types.is_duration(kind)


def test_parquet_timestamps_are_read_on_their_local_date(workbook, tmp_path):
    """A time zone's timestamps are stored in UTC (00:30 in Tokyo is the day before in UTC),
    and pandas writes fractions of a millisecond (a cast to milliseconds refused them)."""
    tokyo = dt.timezone(dt.timedelta(hours=9))
    incidents = [{**record, "closed": None if record.get("closed") is None else
                  dt.datetime.combine(record["closed"], dt.time(0, 30, 0, 123456), tokyo)}
                 for record in sample_incidents()]
    names = field_names(INCIDENT_FIELDS)
    file = write_parquet(tmp_path / "incidents.parquet", incidents, names,
                         {"closed": pa.timestamp("us", tz="Asia/Tokyo")})
    data = read_invoicing_workbook(workbook, record_files={"Incidents": file})
    assert data.incidents.closed.tolist() == read_invoicing_workbook(workbook).incidents.closed.tolist()

    unknown = write_parquet(tmp_path / "unknown_zone.parquet", incidents, names,
                            {"closed": pa.timestamp("us", tz="Mars/Olympus")})
    with pytest.raises(InputError) as caught:  # not a traceback
        read_invoicing_workbook(workbook, record_files={"Incidents": unknown})
    (problem,) = caught.value.problems
    assert (problem.sheet, problem.field) == ("unknown_zone.parquet", "closed")
    assert problem.reason.startswith("この列の値を読めません")


def test_a_csv_row_with_another_number_of_fields_is_named_by_its_row(workbook, tmp_path):
    names = field_names(INCIDENT_FIELDS)
    file = write_csv(tmp_path / "incidents.csv", sample_incidents(), names)
    lines = file.read_text(encoding="utf-8").splitlines()
    lines[3] += ",ファイルサーバーの権限,y"  # row 4: two fields too many
    lines[6] = ",".join(lines[6].split(",")[:3])  # row 7: too few
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    found = [(p.sheet, p.row, p.field) for p in caught.value.problems]
    assert found == [("incidents.csv", 4, "(row)"), ("incidents.csv", 7, "(row)")]
    first = caught.value.problems[0]
    assert first.value == lines[3][:40] + "…"  # cut between characters, not inside one
    assert "\ufffd" not in str(first)
    assert f"見出しは {len(names)} 列、この行は {len(names) + 2} 項目" in first.reason


def test_a_csv_header_naming_a_column_twice_is_named(workbook, tmp_path, capsys):
    names = field_names(INCIDENT_FIELDS)
    file = write_csv(tmp_path / "incidents.csv", sample_incidents(), names)
    lines = file.read_text(encoding="utf-8").splitlines()
    lines[0] += ",Minutes"  # one more header than any row has fields
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["invoice", str(workbook), "--month", MONTH, "--out", str(tmp_path / "out"),
                 "--json", "--incidents", str(file)]) == 2
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert (problem["sheet"], problem["row"], problem["column"]) == ("incidents.csv", 1, "Minutes")
    assert problem["reason"].startswith("同じ見出しの列が 2 つあります")
    assert not (tmp_path / "out").exists()


def test_the_cli_refuses_a_parquet_it_cannot_read_exactly_with_exit_2(workbook, tmp_path,
                                                                      capsys):
    incidents = sample_incidents()
    incidents[0]["minutes"] = 2**63 - 1
    file = write_parquet(tmp_path / "incidents.parquet", incidents, field_names(INCIDENT_FIELDS),
                         {"minutes": pa.int64()})
    assert main(["invoice", str(workbook), "--month", MONTH, "--out", str(tmp_path / "out"),
                 "--json", "--incidents", str(file)]) == 2
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [(p["sheet"], p["row"], p["column"]) for p in problems] == [
        ("incidents.parquet", 2, "minutes")]
    assert not (tmp_path / "out").exists()


def test_a_problem_found_when_billing_names_the_incidents_file(workbook, tmp_path, capsys):
    incidents = sample_incidents()
    incidents[1]["contract_id"] = "C999"
    file = write_csv(tmp_path / "incidents.csv", incidents, field_names(INCIDENT_FIELDS))
    assert main(["invoice", str(workbook), "--month", MONTH, "--out", str(tmp_path / "out"),
                 "--json", "--incidents", str(file)]) == 2
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [(p["sheet"], p["row"], p["column"]) for p in problems] == [
        ("incidents.csv", 3, "contract_id")]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_misspelt_header_is_named_not_read_as_an_absent_column(workbook, tmp_path, suffix):
    """minute for minutes: a column of the file's own would be ignored, but this one is the
    minutes misspelt, and read as absent every call would count 0 minutes."""
    names = ["minute" if n == "minutes" else n for n in field_names(INCIDENT_FIELDS)]
    incidents = [{("minute" if k == "minutes" else k): v for k, v in i.items()}
                 for i in sample_incidents()]
    write = write_csv if suffix == ".csv" else write_parquet
    file = write(tmp_path / f"incidents{suffix}", incidents, names)
    with pytest.raises(InputError) as refused:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    (problem,) = refused.value.problems
    assert (problem.sheet, problem.row, problem.field, problem.value) == (
        file.name, 1, "minute", "minute")
    assert "minutes の列がありません" in problem.reason


def test_a_csv_value_holding_line_breaks_is_read_whatever_block_it_falls_in(workbook, tmp_path,
                                                                           monkeypatch):
    """A ticket system's export: descriptions of several lines, in a file Arrow reads in
    blocks (16 MiB; 2 KiB here) split at line breaks."""
    from xlquote.readers import record_files

    monkeypatch.setattr(record_files, "CSV_BLOCK", 2048)
    incidents = sample_incidents()
    for i, incident in enumerate(incidents):
        incident["description"] = f"1 行目 {i}\n2 行目, 続き\r\n3 行目 " + "説明" * 40
    file = write_csv(tmp_path / "incidents.csv", incidents, field_names(INCIDENT_FIELDS))
    assert file.stat().st_size > 4 * 2048
    data = read_invoicing_workbook(workbook, record_files={"Incidents": file})
    assert len(data.incidents) == len(incidents)
    assert list(data.incidents.description) == [i["description"] for i in incidents]


def test_a_shift_jis_csv_whose_first_megabytes_are_ascii_is_read(workbook, tmp_path):
    """The encoding was taken from the header and Arrow's first block: Excel's Japanese CSV
    with its first Japanese character far down was refused 「CSV として読めません (… invalid
    UTF8 data)」."""
    names = field_names(INCIDENT_FIELDS)
    filler = [{"incident_id": f"P-{i:06d}", "contract_id": "C001", "opened": "2026-05-01",
               "closed": "2026-05-01", "channel": "email", "round_trips": "1"}
              for i in range(300_000)]  # ~20 MB of ASCII before the sample's Japanese
    ascii_first = write_csv(tmp_path / "incidents.csv", [*filler, *sample_incidents()], names,
                            "cp932")
    utf8 = write_csv(tmp_path / "incidents_utf8.csv", [*filler, *sample_incidents()], names)
    read = [records_of(read_invoicing_workbook(workbook, record_files={"Incidents": file}))
            for file in (ascii_first, utf8)]
    assert read[0] == read[1] and len(read[0][2]) == len(filler) + len(sample_incidents())


def test_blank_lines_of_a_csv_are_skipped_and_counted_as_rows(workbook, tmp_path):
    """Arrow skipped blank lines, and every row after them was named a row too early."""
    names = field_names(INCIDENT_FIELDS)
    incidents = sample_incidents()[:5]
    incidents[3]["minutes"] = "abc"  # file line 5 without the blank lines
    path = write_csv(tmp_path / "incidents.csv", incidents, names)
    lines = path.read_bytes().split(b"\r\n")
    empty_fields = b"," * (len(names) - 1)
    path.write_bytes(b"\r\n".join([*lines[:3], b"", b"", empty_fields, *lines[3:]]))  # line 8
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": path})
    assert [(p.row, p.field, p.value) for p in caught.value.problems] == [(8, "minutes", "abc")]


def test_blank_lines_are_dropped_before_any_cell_is_converted(workbook, tmp_path, monkeypatch):
    """Millions of blank lines (a few MB) had made columns of millions of cells first: GBs."""
    from xlquote.readers import record_files

    converted = []
    column = record_files._column
    monkeypatch.setattr(record_files, "_column",
                        lambda arrow_column: converted.append(len(arrow_column))
                        or column(arrow_column))
    names = field_names(INCIDENT_FIELDS)
    path = write_csv(tmp_path / "incidents.csv", sample_incidents()[:2], names)
    with path.open("a", encoding="utf-8") as out:
        out.write("\n" * 1_000 + "," * (len(names) - 1) + "\n")
    data = read_invoicing_workbook(workbook, record_files={"Incidents": path})
    assert data.incidents.row.tolist() == [2, 3]
    assert set(converted) == {2}


def test_a_csv_of_utf8_lines_then_shift_jis_ones_is_refused_at_the_line(workbook, tmp_path):
    """Rows appended from Excel's Japanese CSV to a UTF-8 file: the whole file was taken for
    Shift_JIS and every UTF-8 customer name printed garbled on issued invoices."""
    names = field_names(CONTRACT_FIELDS)
    contracts = sample_contracts()
    path = write_csv(tmp_path / "contracts.csv", contracts, names)
    appended = write_csv(tmp_path / "appended.csv", [{**contracts[0], "contract_id": "C099",
                                                      "customer": "ｶﾌﾞｼｷｶﾞｲｼｬ ﾃｽﾄ"}], names,
                         "cp932")
    path.write_bytes(path.read_bytes() + appended.read_bytes().split(b"\r\n", 1)[1])
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Contracts": path})
    (problem,) = caught.value.problems
    assert problem.value == "contracts.csv"
    assert problem.reason.startswith(f"{len(contracts) + 2} 行目から文字コードが変わっています")
    # a Shift_JIS file alone is read as before, even when its first line of Japanese is
    # half-width kana that happens to be UTF-8 byte for byte (ﾎｼ ﾐｷ: CE BC 20 D0 B7)
    kana_first = [{**contracts[0], "customer": "ﾎｼ ﾐｷ"}, *contracts[1:]]
    alone = write_csv(tmp_path / "sjis.csv", kana_first, names, "cp932")
    assert alone.read_bytes().split(b"\r\n")[1].decode("utf-8")
    read = read_invoicing_workbook(workbook, record_files={"Contracts": alone})
    assert read.contracts[0].customer == "ﾎｼ ﾐｷ"


@pytest.mark.parametrize("layout", ["columns", "row groups", "rows"])
def test_a_parquet_layout_costing_more_than_its_records_is_refused(workbook, tmp_path,
                                                                   monkeypatch, layout):
    """A few bytes of Parquet can list hundreds of thousands of columns or row groups (2-3 GB
    to read), or state fewer rows than its groups hold (read whole before the row limit)."""
    monkeypatch.setattr("xlquote.readers.record_files.MAX_PARQUET_COLUMNS", 8)
    monkeypatch.setattr("xlquote.readers.record_files.MAX_ROW_GROUPS", 3)
    path = tmp_path / "incidents.parquet"
    records = sample_incidents()[:4]
    names = field_names(INCIDENT_FIELDS)
    if layout == "columns":
        write_parquet(path, records, names)
        expected = "列が多すぎます"
    elif layout == "row groups":
        pq.write_table(pq.read_table(write_parquet(path, records, names)), path, row_group_size=1)
        monkeypatch.setattr("xlquote.readers.record_files.MAX_PARQUET_COLUMNS", 100)
        expected = "行グループが多すぎます (4。上限は 3)"
    else:
        monkeypatch.setattr("xlquote.readers.record_files.MAX_PARQUET_COLUMNS", 100)
        pq.write_table(pa.table({"minutes": pa.array([7] * 300, pa.int64())}), path)
        data = bytearray(path.read_bytes())
        size = int.from_bytes(data[-8:-4], "little")
        footer = bytes(data[-8 - size:-8])
        at = footer.find(b"\x16\xd8\x04")  # num_rows (field 3, i64): 300, zigzag varint
        assert at >= 0
        data[len(data) - 8 - size + at + 1:len(data) - 8 - size + at + 3] = b"\x82\x00"  # 1
        path.write_bytes(bytes(data))
        assert pq.ParquetFile(path).metadata.num_rows == 1
        expected = "行数の記録が食い違っています"
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": path})
    (problem,) = caught.value.problems
    assert problem.value == "incidents.parquet" and expected in problem.reason, problem.reason


@pytest.mark.parametrize(("shape", "reason"), [
    ("row", "1 行 (1 件の記録) が 16 MB を超えています"),
    ("header", "見出しの行が 16 MB を超えています"),
    ("header cell", "見出しのセルが長すぎます (131,072 文字まで)"),
])
def test_a_csv_line_beyond_what_is_read_at_once_is_named_in_japanese(workbook, tmp_path,
                                                                     shape, reason):
    """Refused in Arrow's and Python's words before: 「straddling object straddles two block
    boundaries (try to increase block size?)」, 「field larger than field limit (131072)」."""
    names = ",".join(field_names(INCIDENT_FIELDS))
    path = tmp_path / "incidents.csv"
    if shape == "row":
        path.write_text(names + "\n" + "x," * 20_000_000 + "x\n", encoding="utf-8")
    elif shape == "header":
        path.write_text(names + ",x" * 9_000_000 + "\n", encoding="utf-8")
    else:
        path.write_text(names + "," + "y" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": path})
    (problem,) = caught.value.problems
    assert problem.value == "incidents.csv" and problem.reason.startswith(reason), problem.reason


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("incidents.csv", b"", "ファイルが空です (0 バイト)"),
    ("incidents.csv", b"\xef\xbb\xbf", "見出しの行がありません"),  # a BOM alone
    ("incidents.csv", b"\r\n\r\n", "見出しの行がありません"),
    ("incidents.csv", b"   \n", "見出しの行がありません"),
    ("incidents.parquet", b"", "ファイルが空です (0 バイト)"),
    ("incidents.csv", b"PK\x03\x04 a workbook", "Excel のブック (xlsx) か zip ファイルです"),
    ("incidents.csv", b"PAR1 a parquet file", "Parquet ファイルです。拡張子を .parquet に"),
    ("incidents.parquet", b"incident_id,contract_id\n", "Parquet ファイルではありません"),
])
def test_a_file_that_is_not_what_its_name_says_is_named_so(workbook, tmp_path, name, content,
                                                           reason):
    """Arrow's English (「Empty CSV file」, 「Parquet magic bytes not found」), and an xlsx
    named .csv refused as text of an unknown encoding."""
    file = tmp_path / name
    file.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    (problem,) = caught.value.problems
    assert problem.value == name and problem.reason.startswith(reason)


def test_an_incidents_file_of_no_record_is_a_notice_to_look_at(workbook, tmp_path, capsys):
    """A nightly export that came out with its header only billed base fees, exit 0, no word."""
    file = write_csv(tmp_path / "incidents.csv", [], field_names(INCIDENT_FIELDS))
    code = main(["invoice", str(workbook), "--month", "2026-10", "--out", str(tmp_path / "out"),
                 "--incidents", str(file), "--no-pdf", "--json"])
    notices = json.loads(capsys.readouterr().out)["notices"]
    (empty,) = [n for n in notices if n["code"] == "no_incidents"]
    assert code == 1 and empty["attention"]
    assert empty["message"].startswith("incidents.csv にインシデントの記録が 1 件もありません")


def test_a_csv_misshapen_on_every_row_is_refused_at_the_rows_listed(workbook, tmp_path,
                                                                      monkeypatch):
    """Arrow calls back once per misshapen row: past the rows listed, the read stops."""
    from xlquote.engine import errors
    from xlquote.readers import record_files

    monkeypatch.setattr(errors, "MAX_LISTED_PROBLEMS", 3)
    calls = []
    handle = record_files._MisshapenRows.__call__
    monkeypatch.setattr(record_files._MisshapenRows, "__call__",
                        lambda self, row: calls.append(row.number) or handle(self, row))
    file = write_csv(tmp_path / "incidents.csv", sample_incidents(), field_names(INCIDENT_FIELDS))
    with file.open("a", encoding="utf-8") as out:
        out.write("x\n" * 500)
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    problems = caught.value.problems
    first = len(sample_incidents()) + 2  # the first row appended
    assert [p.row for p in problems] == [first, first + 1, first + 2, None]
    assert str(problems[-1]) == (
        "ファイル incidents.csv: ほかにも項目の数が見出しと違う行があります (最初の 3 行を挙げた"
        "ところで読むのをやめました)。上の行を直してから、もう一度実行してください")
    assert len(calls) <= 1 + 4  # the first read stops at the first, the numbered one at the 4th


def test_a_csv_wrong_on_every_row_costs_no_work_per_cell_past_the_problems_listed(
        workbook, tmp_path, monkeypatch):
    """Each distinct cell is read once, and only the listed problems are made one by one: a
    file of millions of bad rows is refused in seconds (a 50 MB one took minutes and GBs)."""
    from xlquote.engine import columns
    from xlquote.engine.errors import MAX_LISTED_PROBLEMS

    added, parsed = [], []
    add, parse_date = columns.RowChecks.add, columns.parse_date
    monkeypatch.setattr(columns.RowChecks, "add",
                        lambda self, *args: added.append(args) or add(self, *args))
    monkeypatch.setattr(columns, "parse_date", lambda cell: parsed.append(cell) or parse_date(cell))
    rows = 3 * MAX_LISTED_PROBLEMS
    file = tmp_path / "incidents.csv"
    file.write_text("incident_id,contract_id,opened,channel,minutes,personal\n"
                    + ",C001,x,phone,ten,maybe\n" * rows, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    # every row: incident_id missing, opened not a date, minutes not a number, personal not
    # yes/no
    assert caught.value.count == 4 * rows
    listed = caught.value.problems[:-1]
    assert len(listed) == MAX_LISTED_PROBLEMS and {p.field for p in listed} == {"incident_id"}
    assert (listed[0].row, listed[-1].row) == (2, MAX_LISTED_PROBLEMS + 1)
    assert len(added) == MAX_LISTED_PROBLEMS
    assert parsed == ["x"]


def test_a_long_file_wrong_on_every_row_is_refused_at_the_part_holding_the_problems_listed(
        workbook, tmp_path, monkeypatch):
    """Read a part at a time, the file stops being read once the problems listed are found:
    its memory is that of a part, not of millions of rows' records."""
    from xlquote.engine import errors
    from xlquote.readers import record_files

    monkeypatch.setattr(errors, "MAX_LISTED_PROBLEMS", 4)
    monkeypatch.setattr(record_files, "CHECKED_CELLS", 4 * 3)  # 3 rows of 4 columns a part
    parts = []
    sheet_table = record_files._sheet_table
    monkeypatch.setattr(record_files, "_sheet_table",
                        lambda arrow, *args, **kwargs: parts.append(arrow.num_rows)
                        or sheet_table(arrow, *args, **kwargs))
    file = tmp_path / "incidents.csv"
    file.write_text("incident_id,contract_id,opened,channel\n" + "I1,C001,x,phone\n" * 100,
                    encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    # rows 2-4, the first part: I1 repeated twice, then opened is no date three times
    *listed, more, stopped = caught.value.problems
    assert [(p.row, p.field) for p in listed] == [
        (2, "opened"), (3, "incident_id"), (3, "opened"), (4, "incident_id")]
    assert (more.field, more.value) == (errors.MORE_FIELD, 1)
    assert str(stopped) == ("ファイル incidents.csv: 問題が多いため、4 行目まで (3 行ずつ) 確かめた"
                            "ところでやめました。残りの行と、行をまたがる確認 (同じ値の重複など) は"
                            "まだしていません")
    assert parts == [3]  # one part of 100 rows, and never the whole file
    assert caught.value.count == 5 and caught.value.stopped  # the note is no problem itself
    assert str(caught.value).startswith("入力エラー 5 件以上:")


def test_a_file_refused_at_its_last_part_says_its_checks_across_parts_were_not_made(
        workbook, tmp_path, monkeypatch):
    """The parts hold the problems listed only at the end: every row was checked, but a value
    repeated in two parts was not looked for, and the refusal says so."""
    from xlquote.engine import errors
    from xlquote.readers import record_files

    monkeypatch.setattr(errors, "MAX_LISTED_PROBLEMS", 2)
    monkeypatch.setattr(record_files, "CHECKED_CELLS", 4 * 3)
    file = tmp_path / "incidents.csv"
    file.write_text("incident_id,contract_id,opened,channel\n" + "I1,C001,2026-10-01,phone\n"
                    + "".join(f"I{i},C001,2026-10-01,phone\n" for i in range(2, 5))
                    + "I5,C001,x,phone\nI6,C001,y,phone\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    *listed, stopped = caught.value.problems
    assert [(p.row, p.field, p.value) for p in listed] == [(6, "opened", "x"), (7, "opened", "y")]
    assert stopped.reason == ("問題が多いため、すべての行を 3 行ずつ確かめました。行をまたがる確認 "
                              "(同じ値の重複など) はまだしていません")


def test_a_misspelt_header_is_named_first_when_a_long_file_is_refused_by_parts(
        workbook, tmp_path, monkeypatch):
    """The part-by-part check still bounds the file, and the misspelt header leads the list."""
    from xlquote.engine import errors
    from xlquote.readers import record_files

    monkeypatch.setattr(errors, "MAX_LISTED_PROBLEMS", 2)
    monkeypatch.setattr(record_files, "CHECKED_CELLS", 5 * 3)
    file = tmp_path / "incidents.csv"
    file.write_text("incident_id,contract_id,opened,channel,minuts\n"
                    + "".join(f"I{i},C001,x,phone,5\n" for i in range(100)), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    problems = caught.value.problems
    assert (problems[0].row, problems[0].field) == (1, "minuts")
    assert [(p.row, p.field) for p in problems[1:3]] == [(2, "opened"), (3, "opened")]
    assert caught.value.stopped


def test_a_long_file_with_few_problems_is_checked_whole_after_its_parts(workbook, tmp_path,
                                                                         monkeypatch):
    """A value repeated in two parts is named: the parts only stop a file early."""
    from xlquote.readers import record_files

    monkeypatch.setattr(record_files, "CHECKED_CELLS", len(INCIDENT_FIELDS) * 2)
    incidents = sample_incidents()
    incidents[-1]["incident_id"] = incidents[0]["incident_id"]
    file = write_csv(tmp_path / "incidents.csv", incidents, field_names(INCIDENT_FIELDS))
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    assert [(p.row, p.field) for p in caught.value.problems] == [
        (len(incidents) + 1, "incident_id")]


def test_a_contracts_file_beyond_the_contracts_a_workbook_holds_is_refused_before_it_is_read(
        workbook, tmp_path, monkeypatch):
    """Counted in Arrow, blank lines aside: its cells are never converted (a 50 MB file of
    millions of short rows took GBs before it was refused)."""
    from xlquote.engine import records
    from xlquote.readers import record_files

    monkeypatch.setattr(records, "MAX_CONTRACTS", 3)
    converted = []
    monkeypatch.setattr(record_files, "_sheet_table",
                        lambda *args, **kwargs: converted.append(args) or None)
    file = write_csv(tmp_path / "contracts.csv", sample_contracts(), field_names(CONTRACT_FIELDS))
    lines = file.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "")  # row 3: a blank line, no record
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Contracts": file})
    (problem,) = caught.value.problems
    assert (problem.sheet, problem.row) == ("contracts.csv", 6)  # the 4th record
    assert problem.reason.startswith(f"契約が {len(sample_contracts())} 件あり、1 冊のブックに"
                                     "載せられる 3 件を超えています")
    assert converted == []


def test_a_long_file_whose_header_lacks_a_column_is_refused_by_its_parts(workbook, tmp_path,
                                                                          monkeypatch):
    """A missing column refuses the file whatever its rows hold: its parts are checked (each
    row's problems named) but the whole file is never read at once (millions of rows of one
    column took minutes and GBs)."""
    from xlquote.readers import record_files

    monkeypatch.setattr(record_files, "CHECKED_CELLS", 3 * 2)
    parts = []
    sheet_table = record_files._sheet_table
    monkeypatch.setattr(record_files, "_sheet_table",
                        lambda arrow, *args: parts.append(arrow.num_rows)
                        or sheet_table(arrow, *args))
    file = tmp_path / "incidents.csv"
    file.write_text("incident_id,opened,channel\n" + "I1,2026-10-01,phone\nI2,x,phone\n"
                    + "".join(f"I{i},2026-10-01,phone\n" for i in range(3, 8)), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": file})
    header, cell, stopped = caught.value.problems
    assert (header.row, header.field, cell.row, cell.field) == (1, "contract_id", 3, "opened")
    assert stopped.reason == ("見出しに問題があるため、すべての行を 2 行ずつ確かめました。行を"
                              "またがる確認 (同じ値の重複など) は見出しを直したあとにします")
    assert parts == [2, 2, 2, 1] and caught.value.count == 2


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_csv_of_too_many_blank_lines_is_refused_before_it_is_read(workbook, tmp_path,
                                                                      monkeypatch, newline):
    """Each blank line is a row of every column in Arrow: 19 MB of them took 3.9 GB."""
    from xlquote.readers import record_files

    monkeypatch.setattr(record_files, "MAX_BLANK_LINES", 3)
    names = field_names(INCIDENT_FIELDS)
    path = write_csv(tmp_path / "incidents.csv", sample_incidents()[:2], names)
    text = path.read_bytes().decode("utf-8").replace("\r\n", newline)
    path.write_text(text + newline * 3, encoding="utf-8", newline="")
    assert len(read_invoicing_workbook(workbook, record_files={"Incidents": path})
               .incidents.incident_id) == 2  # three blank lines are read
    path.write_text(text + newline * 5, encoding="utf-8", newline="")
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook, record_files={"Incidents": path})
    assert [p.reason for p in caught.value.problems] == [
        "空の行が多すぎます (5 行。3 行まで)。空の行を除いて保存し直してください"]


def test_line_breaks_inside_quoted_values_are_no_blank_lines(workbook, tmp_path, monkeypatch):
    """A description's paragraphs hold empty lines: the file has no blank line, and is read."""
    from xlquote.readers import record_files

    monkeypatch.setattr(record_files, "MAX_BLANK_LINES", 3)
    incidents = sample_incidents()[:3]
    for incident in incidents:
        incident["description"] = "症状:\n\n印刷できない\n\n対応: 再設定"
    path = write_csv(tmp_path / "incidents.csv", incidents, field_names(INCIDENT_FIELDS))
    data = read_invoicing_workbook(workbook, record_files={"Incidents": path})
    assert data.incidents.description.tolist() == [incidents[0]["description"]] * 3
