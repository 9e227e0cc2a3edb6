"""``xlquote invoice`` end to end on the sample workbook: the files, the values on chosen
invoices, the validation report, a rerun that no longer produces an issued invoice, and user
text that looks like a formula. (Issued invoices as records: test_lifecycle.py.)"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from xlquote.app.invoice_run import run_invoice_workbook
from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.app.workbooks.invoicing import write_invoicing_workbook
from xlquote.cli import main
from xlquote.engine.errors import InputError
from xlquote.readers import read_invoicing_workbook

MONTH = "2026-10"
HYPERLINK = '=HYPERLINK("http://example.com","click")'


def write_workbook(path: Path, contracts=None, incidents=None, packs=None, settings=None) -> Path:
    return write_invoicing_workbook(path, sample_contracts() if contracts is None else contracts,
                                    sample_incidents() if incidents is None else incidents,
                                    sample_packs() if packs is None else packs,
                                    settings or sample_settings())


def cells(ws) -> dict[str, object]:
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def value_right_of(ws, label: str, column: str = "E"):
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == label:
                return ws[f"{column}{cell.row}"].value
    raise AssertionError(f"no {label!r} on {ws.title}")


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    workbook = write_workbook(folder / "invoicing.xlsx")
    out = folder / "out"
    code = main(["invoice", str(workbook), "--month", MONTH, "--out", str(out), "--json",
                 "--issue-date", "2026-11-02"])
    return workbook, out, code


@pytest.fixture(scope="module")
def result_json(sample_run, tmp_path_factory):
    workbook, _, _ = sample_run
    out = tmp_path_factory.mktemp("json")
    return run_invoice_workbook(workbook, MONTH, out, issue_date=dt.date(2026, 11, 2)).to_dict()


def invoice_book(out: Path, contract_id: str, prefix: str = "INV-202610-*") -> openpyxl.Workbook:
    (path,) = (out / MONTH).glob(f"{prefix}_{contract_id}_*.xlsx")
    return openpyxl.load_workbook(path)


def test_file_set(sample_run):
    _, out, code = sample_run
    assert code == 1  # the sample has flags that need attention (pending limit, …)
    # no temporary folders left behind; the register numbers the invoices; the folder's lock
    # and the note of its register are hidden
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        MONTH, "register.sqlite3"]
    names = sorted(p.name for p in (out / MONTH).iterdir())
    assert len(names) == 39  # 17 invoices, a draft and a statement, each xlsx and PDF; summary
    assert "請求一覧_2026-10.xlsx" in names
    assert "INV-202610-0001_C001_株式会社アオバ商事.xlsx" in names
    assert not any("_C011_" in name for name in names)  # ended in September


def test_invoice_sheet_values(sample_run):
    _, out, _ = sample_run
    wb = invoice_book(out, "C001")
    assert wb.sheetnames == ["請求書", "明細"]
    ws = wb["請求書"]
    text = cells(ws)
    assert text["A1"] == "請求書"
    assert text["A3"] == "株式会社アオバ商事 御中"
    assert "登録番号 T1234567890123" in text.values()
    assert value_right_of(ws, "請求番号") == "INV-202610-0001"
    assert value_right_of(ws, "請求日") == dt.datetime(2026, 11, 2)
    assert value_right_of(ws, "支払期日") == dt.datetime(2026, 12, 2)
    assert value_right_of(ws, "10%対象 小計") == 22_000
    assert value_right_of(ws, "消費税 (10%)") == 2_200
    assert value_right_of(ws, "合計") == 24_200
    assert ws["A10"].value == 24_200 and "¥" in ws["A10"].number_format
    assert any("みずなみ銀行" in str(v) for v in text.values())  # 振込先
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws["A1"].font.name == "IPAexGothic"
    header = ws[14][:6]
    assert [c.value for c in header] == ["No.", "品目", "数量", "単価", "金額", "税率"]
    assert all(c.font.b and c.font.name == "IPAexGothic" and c.fill.fgColor.rgb[-6:] == "DDE4EE"
               and c.border.bottom.style == "thin" and c.alignment.horizontal == "center"
               for c in header)
    line = ws[15]  # the first fee line under the header of row 14: boxed, formatted, font named
    assert [c.value for c in line[:6]] == [1, "月額基本料金 (技術的・月2件まで) 2026/10", 1,
                                           20_000, 20_000, "10%"]
    assert "¥" in line[3].number_format and "¥" in line[4].number_format
    assert line[2].number_format == "#,##0"
    assert all(c.border.left.style == "thin" and c.alignment.vertical == "top" for c in line[:6])
    assert line[1].alignment.wrap_text and line[1].font.name == "IPAexGothic"
    statement = wb["明細"]
    rows = list(statement.iter_rows(min_row=5, values_only=True))
    assert [r[0] for r in rows] == ["I-1001", "I-1002", "I-1003"]
    assert [r[5] for r in rows] == ["フェザー", "レベル2", "レベル4"]
    assert rows[2][7] == 2_000


def test_limit_pending_is_held_as_a_draft(sample_run):
    _, out, _ = sample_run
    assert not list((out / MONTH).glob("INV-*_C004_*"))
    ws = invoice_book(out, "C004", "下書き").worksheets[0]
    assert value_right_of(ws, "合計") == 110_000
    texts = cells(ws).values()
    assert "・インシデント I-1009: 料金リミットを適用してご請求しています" in texts
    assert not any("ご判断待ち" in str(text) for text in texts)  # the staff's label stays in-house


def test_units_sheet_for_price_book_a(sample_run):
    _, out, _ = sample_run
    wb = invoice_book(out, "V001", "明細")  # ¥0: a statement, not a numbered invoice
    assert wb.sheetnames == ["ご利用明細書", "明細", "ユニット残高"]
    (pack,) = wb["ユニット残高"].iter_rows(min_row=5, values_only=True)
    assert pack[:6] == (dt.datetime(2026, 4, 1), dt.datetime(2027, 3, 31), 10, 4, 4, 2)
    statement = list(wb["明細"].iter_rows(min_row=5, values_only=True))
    assert statement[0][0] == "I-1025" and statement[0][5] == 4  # units used


def test_summary_workbook(sample_run):
    _, out, _ = sample_run
    ws = openpyxl.load_workbook(out / MONTH / "請求一覧_2026-10.xlsx")["請求一覧"]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 20  # 17 invoices, the draft, the statement, the totals
    assert rows[-1][0] == "合計" and rows[-1][1] == "17件" and rows[-1][6] == 9_864_800
    c004 = next(r for r in rows if r[1] == "C004")
    assert c004[0] == "下書き" and c004[6] == 110_000 and "ご判断待ち" in c004[9]
    assert next(r for r in rows if r[1] == "V001")[0] == "明細"


def test_json_result(result_json):
    data = result_json
    assert data["invoice_count"] == 17 and data["total"] == 9_864_800
    assert data["exit_code"] == 1
    assert {a["code"] for a in data["attention"]} == {"limit_pending", "reply_beyond_limit",
                                                      "rejected", "onsite_quote"}
    by_id = {i["contract_id"]: i for i in data["invoices"]}
    assert by_id["CC01"]["total"] == 5_720_000


def test_cli_json_output(sample_run, tmp_path, capsys):
    workbook, _, _ = sample_run
    assert main(["invoice", str(workbook), "--month", MONTH, "--out", str(tmp_path),
                 "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 9_864_800 and data["status"] == "attention"


def test_month_without_attention_exits_0(sample_run, tmp_path, capsys):
    workbook, _, _ = sample_run
    assert main(["invoice", str(workbook), "--month", "2026-09", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2026-09 の請求書  9 件" in out and "合計 ¥3,566,200" in out


def test_both_readers_agree(sample_run):
    workbook, _, _ = sample_run
    fast = read_invoicing_workbook(workbook, "fastexcel")
    slow = read_invoicing_workbook(workbook, "cells")
    assert fast.contracts == slow.contracts and fast.packs == slow.packs
    assert fast.settings == slow.settings
    np.testing.assert_array_equal(fast.incidents.closed, slow.incidents.closed)
    np.testing.assert_array_equal(fast.incidents.opened, slow.incidents.opened)
    np.testing.assert_array_equal(fast.incidents.measures.minutes, slow.incidents.measures.minutes)
    np.testing.assert_array_equal(fast.incidents.description, slow.incidents.description)


def test_bad_workbook_reports_every_problem_and_writes_nothing(tmp_path, capsys):
    contracts = sample_contracts()
    contracts[2]["plan"] = "weekly"  # Contracts row 4
    incidents = sample_incidents()
    incidents[0]["channel"] = "fax"  # Incidents row 2
    incidents[5]["closed"] = dt.date(2026, 1, 1)  # Incidents row 7: before it was opened
    packs = sample_packs()
    packs[1]["units"] = "ten"  # Packs row 3
    settings = sample_settings() | {"registration_number": "1234567890123"}
    workbook = write_workbook(tmp_path / "bad.xlsx", contracts, incidents, packs, settings)
    out = tmp_path / "out"
    assert main(["invoice", str(workbook), "--month", MONTH, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "何も書き出していません" in err
    for expected in ("シート Contracts 4行目 列 plan: 'weekly' — 不明な契約プラン",
                     "シート Incidents 2行目 列 channel: 'fax' — 不明なチャネル",
                     "シート Incidents 7行目 列 closed: 2026-01-01 — 受付日 (opened) より前",
                     "シート Packs 3行目 列 units: 'ten' — 数値として読めません",
                     "シート Settings 3行目 列 registration_number: '1234567890123' — 登録番号は"):
        assert expected in err, expected
    assert not out.exists()


def test_bad_workbook_json(tmp_path, capsys):
    unknown = {"incident_id": "I-9999", "contract_id": "NOPE", "opened": dt.date(2026, 10, 1),
               "closed": dt.date(2026, 10, 1), "channel": "email"}
    incidents = [*sample_incidents(), unknown]
    workbook = write_workbook(tmp_path / "bad.xlsx", incidents=incidents)
    out = tmp_path / "out"
    assert main(["invoice", str(workbook), "--month", MONTH, "--out", str(out), "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    (problem,) = data["problems"]
    assert (problem["sheet"], problem["row"], problem["column"]) == (
        "Incidents", len(incidents) + 1, "contract_id")
    assert problem["value"] == "NOPE" and "契約一覧 (Contracts) にない" in problem["reason"]
    assert problem["text"] == f"シート Incidents {len(incidents) + 1}行目 列 contract_id: 'NOPE' — " \
        + problem["reason"]
    assert not out.exists()


@pytest.mark.parametrize("twin_id", ["C004.", "c004"])
def test_contracts_whose_documents_would_be_one_file_are_refused(tmp_path, capsys, twin_id):
    """C004 and C004. (or c004, the same file where case is not told apart) for one customer:
    their drafts would be one file. Refused before anything is written: met while placing the
    files, it stopped the run after the invoices were issued, on every rerun."""
    contracts = sample_contracts()
    original = next(c for c in contracts if c["contract_id"] == "C004")
    contracts.append({**original, "contract_id": twin_id})
    incidents = [*sample_incidents(), *[{**i, "incident_id": f"{i['incident_id']}-twin",
                                         "contract_id": twin_id}
                                        for i in sample_incidents() if i["contract_id"] == "C004"]]
    workbook = write_workbook(tmp_path / "twins.xlsx", contracts=contracts, incidents=incidents)
    out = tmp_path / "out"
    assert main(["invoice", str(workbook), "--month", MONTH, "--out", str(out), "--json"]) == 2
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert (problem["sheet"], problem["row"], problem["column"], problem["value"]) == (
        "Contracts", len(contracts) + 1, "contract_id", twin_id)
    assert "契約 C004 (5行目) と書類のファイル名が同じになります" in problem["reason"]
    assert not out.exists()


def test_not_a_workbook(tmp_path, capsys):
    fake = tmp_path / "contracts.xlsx"
    fake.write_text("contract_id,customer\n")
    assert main(["invoice", str(fake), "--month", MONTH, "--out", str(tmp_path / "out")]) == 2
    assert "ファイル contracts.xlsx: Excel のブック (.xlsx / .xlsm) ではありません" in \
        capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_sheet_and_header(tmp_path):
    workbook = write_workbook(tmp_path / "wb.xlsx")
    wb = openpyxl.load_workbook(workbook)
    del wb["Packs"]
    wb["Contracts"]["B1"] = "client"  # the customer header renamed
    wb.save(workbook)
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook)
    found = [(p.sheet, p.row, p.field) for p in caught.value.problems]
    assert found == [("Contracts", 1, "customer"), ("Packs", None, "(sheet)")]
    text = str(caught.value)
    assert "シート Packs: シート Packs がないか、空です" in text
    assert "シート Contracts 1行目 列 customer: 空欄 — 必須の列がありません" in text


def test_blank_rows_are_skipped_and_rows_keep_their_numbers(tmp_path):
    workbook = write_workbook(tmp_path / "wb.xlsx")
    wb = openpyxl.load_workbook(workbook)
    ws = wb["Incidents"]
    ws.insert_rows(4, amount=2)  # two blank rows between sheet rows 3 and 4
    ws["E9"] = "fax"  # the incident that was on row 7
    wb.save(workbook)
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(workbook)
    (problem,) = caught.value.problems
    assert (problem.sheet, problem.row, problem.field, problem.value) == (
        "Incidents", 9, "channel", "fax")
    ws["E9"] = "email"
    wb.save(workbook)
    data = read_invoicing_workbook(workbook)
    assert len(data.incidents) == len(sample_incidents())
    assert list(data.incidents.row[:4]) == [2, 3, 6, 7]


def test_an_issued_invoice_no_longer_produced_is_refused(tmp_path, capsys):
    first = write_workbook(tmp_path / "first.xlsx")
    out = tmp_path / "out"
    run_invoice_workbook(first, MONTH, out)
    run_invoice_workbook(first, "2026-09", out)
    before = {p.name: p.read_bytes() for p in (out / MONTH).iterdir()}
    contracts = [c for c in sample_contracts() if c["contract_id"] != "C013"]
    incidents = [i for i in sample_incidents() if i["contract_id"] != "C013"]
    second = write_workbook(tmp_path / "second.xlsx", contracts, incidents)
    assert main(["invoice", str(second), "--month", MONTH, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "INV-202610-0011 (C013)" in err and "xlquote register void" in err
    assert {p.name: p.read_bytes() for p in (out / MONTH).iterdir()} == before
    assert len(list((out / "2026-09").glob("INV-*.xlsx"))) == 9  # another month is untouched
    # once voided, the month runs again
    assert main(["register", "void", "INV-202610-0011", "--reason", "契約対象外", "--out",
                 str(out)]) == 0
    assert main(["invoice", str(second), "--month", MONTH, "--out", str(out)]) == 1


def test_formula_looking_text_stays_text(tmp_path):
    contracts = sample_contracts()
    contracts[0]["customer"] = HYPERLINK
    incidents = sample_incidents()
    i1003 = next(i for i in incidents if i["incident_id"] == "I-1003")
    i1003["description"] = "=1+1"
    workbook = write_workbook(tmp_path / "wb.xlsx", contracts, incidents)
    result = run_invoice_workbook(workbook, MONTH, tmp_path / "out")
    c001 = next(f for f in result.files if f.contract_id == "C001")
    assert "/" not in c001.xlsx.name and '"' not in c001.xlsx.name
    wb = openpyxl.load_workbook(c001.xlsx)
    customer = wb["請求書"]["A3"]
    assert customer.data_type == "s" and customer.value == f"{HYPERLINK} 御中"
    description = wb["明細"]["J7"]
    assert description.data_type == "s" and description.value == "=1+1"
    summary = openpyxl.load_workbook(result.summary)["請求一覧"]
    cell = next(c for row in summary.iter_rows() for c in row if c.value == HYPERLINK)
    assert cell.data_type == "s"


def test_tax_rounding_setting(tmp_path):
    incidents = sample_incidents()
    next(i for i in incidents if i["incident_id"] == "I-1010")["absorbed_fee"] = 100_005
    results = {}
    for rounding in ("", "切り上げ"):
        workbook = write_workbook(tmp_path / f"wb{rounding}.xlsx", incidents=incidents,
                                  settings=sample_settings() | {"tax_rounding": rounding})
        result = run_invoice_workbook(workbook, MONTH, tmp_path / f"out{rounding}")
        results[rounding] = next(i for i in result.invoices if i.contract.contract_id == "C005")
    assert results[""].tax == 10_000  # price book default: round down (切り捨て)
    assert results["切り上げ"].tax == 10_001


@pytest.mark.parametrize("workers", [1, 2])
def test_what_billing_freed_is_handed_back_before_the_documents_are_drawn(tmp_path,
                                                                          monkeypatch, workers):
    """The month's billing (its incidents in contract order, their charges, pack replays) is
    gone when the run hands memory back, before any document is drawn: also when the billing
    ran on forked workers, which freeze the objects alive then (the run's own freeze too)."""
    import gc

    from xlquote.app import invoice_run, parallel
    from xlquote.app.documents import DRAWERS
    from xlquote.engine.billing import BillingRun
    from xlquote.engine.billing.pricing import IncidentCharges

    events: list[tuple[str, int]] = []

    def billing_objects() -> set[int]:
        # frozen objects (the run freezes what lives through it) are not in get_objects
        frozen = gc.get_freeze_count()
        gc.unfreeze()
        found = {id(o) for o in gc.get_objects() if isinstance(o, BillingRun | IncidentCharges)}
        if frozen:
            gc.freeze()
        return found

    gc.collect()
    before = billing_objects()  # an earlier test's billing, kept by its test's frame

    def release() -> None:
        gc.collect()
        events.append(("release", len(billing_objects() - before)))

    def drawing(drawer):
        def draw(*args):
            events.append(("draw", 0))
            return drawer(*args)
        return draw

    monkeypatch.setattr(invoice_run, "release_freed_memory", release)
    monkeypatch.setattr(parallel, "MIN_PARALLEL", 1)  # the demo month's tasks forked too
    monkeypatch.setenv("XLQUOTE_WORKERS", str(workers))
    for key in list(DRAWERS):
        monkeypatch.setitem(DRAWERS, key, drawing(DRAWERS[key]))
    run_invoice_workbook(write_workbook(tmp_path / "wb.xlsx"), MONTH, tmp_path / "out")
    assert events[0] == ("release", 0)
    if workers == 1:  # a forked worker's drawing is not seen here
        assert events[1][0] == "draw"
