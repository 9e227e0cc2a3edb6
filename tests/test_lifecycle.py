"""Issued invoices are records, run as a clerk would through the CLI: reruns leave issued files
as they are, Settings apply to new invoices only, a description's change is reported, a changed
amount is refused or corrected with the correction's own dates, an invoice is voided and its
number never reused, a decision that is pending holds an invoice as a draft until it is
recorded, a ¥0 month is a statement, a month that has not ended is refused."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from clerk import (
    ISSUED,
    MONTH,
    every_file,
    files,
    invoice,
    invoice_json,
    one,
    summary_rows,
    workbook,
)
from registers import register_args

from xlquote.app import documents
from xlquote.app.documents import NAME_BYTES, jst_today
from xlquote.app.invoice_run import run_invoice_workbook
from xlquote.app.publishing import MARKER_NAME
from xlquote.app.register import Register
from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.app.workbooks.invoicing import write_invoicing_workbook
from xlquote.cli import main
from xlquote.engine.dates import Month, due_date
from xlquote.engine.pricebook import get_pricebook

C001 = "INV-202610-0001_C001_株式会社アオバ商事"
CALENDAR = get_pricebook("aki_sie").calendar


def values(path: Path) -> set[object]:
    """Every cell value of every sheet (dates as dates)."""
    found: set[object] = set()
    for ws in openpyxl.load_workbook(path).worksheets:
        for row in ws.iter_rows(values_only=True):
            found.update(v.date() if isinstance(v, dt.datetime) else v for v in row
                         if v is not None)
    return found


def text(path: Path) -> str:
    return " ".join(str(v) for v in values(path))


@pytest.fixture
def issued(tmp_path: Path, registers) -> tuple[Path, Path]:
    book = workbook(tmp_path / "invoicing.xlsx")
    out = tmp_path / "out"
    assert invoice(book, out) == 1  # the sample carries attention flags on purpose
    return book, out


def test_first_run_issues_holds_and_states(issued, registers):
    _, out = issued
    month = out / MONTH
    names = set(files(month))
    numbered = sorted(n for n in names if n.startswith("INV-") and n.endswith(".xlsx"))
    assert len(numbered) == 17 and numbered[0] == f"{C001}.xlsx"
    assert {n.replace(".xlsx", ".pdf") for n in numbered} <= names  # PDFs by default
    assert "下書き_C004_株式会社ヒバリ物流.xlsx" in names  # a decision is pending
    assert "明細_V001_東都精機株式会社.xlsx" in names  # nothing to pay
    assert not [n for n in names if "_C004_" in n and n.startswith("INV-")]
    assert not [n for n in names if not n.startswith(("INV-", "下書き_", "明細_", "請求一覧_"))]
    assert [d.number for d in registers.open(out).list()] == [
        f"INV-202610-{n:04d}" for n in range(1, 18)]


def test_rerun_leaves_every_file_as_it_is(issued):
    book, out = issued
    before = files(out / MONTH)
    assert invoice(book, out) == 1
    assert files(out / MONTH) == before


def test_settings_apply_to_invoices_issued_from_then_on(issued, tmp_path, capsys):
    _, out = issued
    before = files(out / MONTH)
    new_issuer = {"issuer_name": "新社名サポート株式会社", "registration_number": "T9876543210987",
                  "bank_account": "さくら銀行 新宿支店 普通 7654321 シンシャメイ"}
    changed = workbook(tmp_path / "settings.xlsx", settings=new_issuer)
    code, result = invoice_json(capsys, changed, out)
    assert code == 1  # the sample's flags, nothing about the Settings
    assert result["register"]["unchanged"] == 17
    assert result["notices"] == []  # nothing issued was drawn again
    issued_now = {k: v for k, v in files(out / MONTH).items() if k.startswith("INV-")}
    assert issued_now == {k: v for k, v in before.items() if k.startswith("INV-")}
    assert "新社名サポート株式会社" not in text(out / MONTH / f"{C001}.xlsx")
    # the held invoice is issued later, with the Settings of that day
    decided = workbook(tmp_path / "decided.xlsx", settings=new_issuer,
                       incidents={"I-1009": {"limit_decision": "continue"}})
    assert invoice(decided, out) == 1
    released = one(out / MONTH, "INV-202610-0018_C004_*.xlsx")
    assert "新社名サポート株式会社" in text(released) and "T9876543210987" in text(released)
    assert "新社名サポート株式会社" not in text(out / MONTH / f"{C001}.xlsx")


def test_a_description_change_is_reported_not_refused(issued, tmp_path, capsys):
    _, out = issued
    before = files(out / MONTH)
    typo = workbook(tmp_path / "typo.xlsx", incidents={"I-1003": {"description": "誤字を直した"}})
    code, result = invoice_json(capsys, typo, out)
    assert code == 1
    assert result["register"]["reported"] == 1
    (notice,) = [n for n in result["notices"] if n["code"] == "reported"]
    assert notice["number"] == "INV-202610-0001" and not notice["attention"]
    assert files(out / MONTH) == before


def test_sorting_the_contracts_changes_no_invoice(issued, tmp_path, capsys):
    """The contracts in another order (every one on another sheet row): no document shows a
    contract's row, and nothing is reported changed."""
    _, out = issued
    book = write_invoicing_workbook(tmp_path / "sorted.xlsx", sample_contracts()[::-1],
                                    sample_incidents(), sample_packs(), sample_settings())
    _, result = invoice_json(capsys, book, out)
    assert result["register"]["unchanged"] == 17 and "reported" not in result["register"]


def test_invoices_recorded_with_their_contracts_row_stay_unchanged(tmp_path, capsys,
                                                                   monkeypatch):
    """A register whose content hashes hold the contract's sheet row (before 2026-12-07):
    its issued invoices read as unchanged while the rows stay where they were."""
    book, out = workbook(tmp_path / "invoicing.xlsx"), tmp_path / "out"
    with monkeypatch.context() as old:
        old.setattr(documents, "_without_sheet_row", lambda invoice: invoice)
        invoice_json(capsys, book, out)
    _, result = invoice_json(capsys, book, out)
    assert result["register"]["unchanged"] == 17 and "reported" not in result["register"]


def test_a_changed_amount_is_refused_and_nothing_changes(issued, tmp_path, capsys, registers):
    _, out = issued
    before = files(out / MONTH)
    changed = workbook(tmp_path / "changed.xlsx", incidents={"I-1003": {"minutes": 300}})
    code, result = invoice_json(capsys, changed, out)
    assert code == 2 and result["status"] == "refused" and result["exit_code"] == 2
    assert "INV-202610-0001 (C001, 合計 24,200 → 30,800)" in result["message"]
    assert "--correct" in result["message"]
    assert files(out / MONTH) == before
    assert len(registers.open(out).list()) == 17



def test_a_changed_addressee_is_named_in_the_refusal(issued, tmp_path, capsys):
    """The refusal had said 「合計 24,200 → 24,200」 when the total stayed."""
    _, out = issued
    renamed = workbook(tmp_path / "renamed.xlsx",
                       contracts={"C001": {"customer": "株式会社　アオバ商事"}})
    code, result = invoice_json(capsys, renamed, out)
    assert code == 2
    assert "INV-202610-0001 (C001, 請求先 「株式会社アオバ商事」 → 「株式会社　アオバ商事」)" in (
        result["message"])


def test_correct_issues_a_correction_with_its_own_dates(issued, tmp_path, capsys, registers):
    _, out = issued
    original = files(out / MONTH)[f"{C001}.xlsx"]
    changed = workbook(tmp_path / "changed.xlsx", incidents={"I-1003": {"minutes": 300}})
    capsys.readouterr()
    assert main(["invoice", str(changed), "--month", MONTH, "--out", str(out), "--correct",
                 "--json", *register_args(out)]) == 1
    result = json.loads(capsys.readouterr().out)
    today = jst_today()
    (correction,) = [i for i in result["invoices"] if i["kind"] == "correction"]
    assert correction["number"] == "INV-202610-0018"
    assert correction["correction_of"] == correction["corrects"] == "INV-202610-0001"
    assert correction["total"] == 30_800 and correction["status"] == "issued"
    assert correction["issue_date"] == today.isoformat()  # issued today, in Japan
    assert correction["due_date"] == due_date(today, CALENDAR).isoformat()
    first = next(i for i in result["invoices"] if i["number"] == "INV-202610-0001")
    assert first["status"] == "corrected" and first["corrected_by"] == "INV-202610-0018"
    assert first["issue_date"] == ISSUED
    # the original stays in the folder, as issued; the correction is a full document
    assert files(out / MONTH)[f"{C001}.xlsx"] == original
    path = out / MONTH / "INV-202610-0018_C001_株式会社アオバ商事.xlsx"
    assert {today, 30_800} <= values(path) and "INV-202610-0001" in text(path)
    assert path.with_suffix(".pdf").is_file()
    docs = {d.number: d for d in registers.open(out).list()}
    assert docs["INV-202610-0018"].corrects == "INV-202610-0001"
    # the summary lists both, with their state
    rows = {r[0]: r for r in summary_rows(out)}
    assert rows["INV-202610-0001"][12] == "修正済み → INV-202610-0018"
    assert rows["INV-202610-0018"][12] == "修正インボイス (INV-202610-0001 を訂正)"
    assert rows["合計"][6] == result["total"] == 9_864_800 + 6_600  # the version in force
    # the correction is now in force: rerunning it issues nothing
    before = files(out / MONTH)
    assert main(["invoice", str(changed), "--month", MONTH, "--out", str(out), "--correct"]) == 1
    assert files(out / MONTH) == before


def test_a_correction_dated_by_the_clerk(issued, tmp_path, capsys):
    _, out = issued
    changed = workbook(tmp_path / "changed.xlsx", incidents={"I-1003": {"minutes": 300}})
    code, result = invoice_json(capsys, changed, out, "--correct", "--issue-date", "2026-12-10")
    assert code == 1
    (correction,) = [i for i in result["invoices"] if i["kind"] == "correction"]
    assert (correction["issue_date"], correction["due_date"]) == ("2026-12-10", "2027-01-08")
    (invoice_,) = [i for i in run_invoice_workbook(changed, MONTH, out, correct=True,
                                                   issue_date=dt.date(2026, 12, 10)).invoices
                   if i.kind == "correction"]
    assert invoice_.correction.original_number == "INV-202610-0001"
    assert invoice_.correction.original_issue_date == dt.date(2026, 11, 2)
    assert invoice_.issue_date == dt.date(2026, 12, 10)
    # a date before the original's is refused
    capsys.readouterr()
    again = workbook(tmp_path / "again.xlsx", incidents={"I-1003": {"minutes": 400}})
    assert invoice(again, out, "--correct", "--issue-date", "2026-11-01") == 2


def test_void_records_writes_and_never_reuses_the_number(issued, capsys, registers):
    book, out = issued
    before = files(out / MONTH)
    capsys.readouterr()
    assert main(["register", "void", "INV-202610-0004", "--reason", "契約対象外", "--out",
                 str(out), "--json", "--issue-date", ISSUED]) == 0  # the reissue's date below
    voided = json.loads(capsys.readouterr().out)
    assert voided["state"] == "void" and voided["reason"] == "契約対象外"
    cancel = out / MONTH / "取消_INV-202610-0004_C005_さくらソフト合同会社.xlsx"
    assert {Path(p).name for p in voided["files"]} == {cancel.name,
                                                       cancel.with_suffix(".pdf").name}
    after = files(out / MONTH)
    assert {k: v for k, v in after.items() if k in before and not k.startswith("請求一覧")} == {
        k: v for k, v in before.items() if not k.startswith("請求一覧")}  # the original stays
    assert main(["register", "show", "INV-202610-0004", "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "状態: 取消" in shown and "契約対象外" in shown
    # the summary says so, and the totals leave it out; its other sheets stay
    summary = openpyxl.load_workbook(out / MONTH / f"請求一覧_{MONTH}.xlsx")
    assert summary.sheetnames == ["請求一覧", "要確認", "対応状況"]
    rows = {r[0]: r for r in summary_rows(out)}
    assert rows["INV-202610-0004"][12].startswith("取消")
    assert rows["合計"][6] == 9_864_800 - 110_000
    # voiding twice, or voiding a document that is not in force, is refused
    assert main(["register", "void", "INV-202610-0004", "--reason", "x", "--out", str(out)]) == 2
    assert main(["register", "void", "INV-202610-9999", "--reason", "x", "--out", str(out)]) == 2
    # the inputs still bill C005: reported until removed, or a new number with --correct
    code, result = invoice_json(capsys, book, out)
    assert code == 1 and result["register"]["still_billed"] == 1
    assert any(n["code"] == "still_billed" and n["attention"] for n in result["notices"])
    # the summary on screen counts what it lists, the cancelled invoice included
    assert invoice(book, out) == 1
    shown = capsys.readouterr().out.splitlines()
    (heading,) = [i for i, line in enumerate(shown) if line.startswith("要確認 ")]
    listed = shown[heading + 1:]
    assert shown[heading] == f"要確認 {len(listed)} 件"
    assert len(listed) == len(result["attention"]) + 1
    assert listed[0].startswith("  INV-202610-0004 は取消済みですが")
    assert len(registers.open(out).list()) == 17
    code, result = invoice_json(capsys, book, out, "--correct")
    reissued = [i for i in result["invoices"] if i["contract_id"] == "C005"]
    assert [(i["number"], i["status"]) for i in reissued] == [
        ("INV-202610-0004", "void"), ("INV-202610-0018", "issued")]
    numbers = [d.number for d in registers.open(out).list()]
    assert len(numbers) == len(set(numbers)) == 18


def test_a_reissue_is_dated_on_or_after_the_voided_invoice_and_its_cancellation(issued,
                                                                              capsys):
    """Dated before the cancellation, two invoices of C005 would stand in force between them."""
    book, out = issued
    assert main(["register", "void", "INV-202610-0004", "--reason", "契約対象外", "--out",
                 str(out), "--issue-date", "2026-11-20"]) == 0
    capsys.readouterr()
    assert invoice(book, out, "--correct", "--issue-date", "2026-11-19") == 2
    assert ("--issue-date 2026-11-19 は取り消した請求書 INV-202610-0004 の請求日・取消日 "
            "2026-11-20 より前です") in capsys.readouterr().err
    code, result = invoice_json(capsys, book, out, "--correct", "--issue-date", "2026-11-20")
    assert code == 1  # the sample's flags
    (reissue,) = [i for i in result["invoices"] if i["number"] == "INV-202610-0018"]
    assert (reissue["contract_id"], reissue["issue_date"]) == ("C005", "2026-11-20")


def test_a_voided_contract_waiting_on_a_decision_or_at_zero_is_held_or_stated(issued, tmp_path,
                                                                           capsys, registers):
    """After a void, the contract's next document is decided as a first one's: a draft while a
    fee limit waits on the customer, a statement for a ¥0 month (not a number, and not
    'still billed' for ever)."""
    _, out = issued
    billed = workbook(tmp_path / "billed.xlsx",
                      incidents={"I-1009": {"limit_decision": "continue"},
                                 "I-1025": {"minutes": 600, "sessions": 2}})
    _, result = invoice_json(capsys, billed, out)
    numbers = {i["contract_id"]: i["number"] for i in result["invoices"]}
    for contract_id in ("C004", "V001"):
        assert main(["register", "void", numbers[contract_id], "--reason", "誤り", "--out",
                     str(out)]) == 0
    # back to the sample: C004's decision blank again, V001's month ¥0
    code, result = invoice_json(capsys, workbook(tmp_path / "sample.xlsx"), out, "--correct")
    assert code == 1 and {d["contract_id"] for d in result["drafts"]} == {"C004"}
    assert {d["contract_id"] for d in result["statements"]} == {"V001"}
    assert not any(n["code"] == "still_billed" for n in result["notices"])
    assert len(registers.open(out).list()) == 19  # nothing numbered since


def test_a_correction_waiting_on_a_decision_is_held_as_a_draft(tmp_path, capsys, registers):
    """C004 issued once its decision was entered; the decision blanked again: the issued
    invoice stays in force, and the new amount waits as a draft, not a numbered correction
    that would bill a limit the customer has not chosen."""
    out = tmp_path / "out"
    decided = workbook(tmp_path / "decided.xlsx",
                       incidents={"I-1009": {"limit_decision": "continue"}})
    invoice_json(capsys, decided, out)
    pending = workbook(tmp_path / "pending.xlsx")
    assert invoice(pending, out) == 2  # a changed amount, without --correct: refused
    code, result = invoice_json(capsys, pending, out, "--correct")
    assert code == 1 and [d["contract_id"] for d in result["drafts"]] == ["C004"]
    c004 = [(i["number"], i["status"]) for i in result["invoices"] if i["contract_id"] == "C004"]
    assert c004 == [("INV-202610-0004", "issued")]
    assert len(registers.open(out).list()) == 18


def test_a_correction_voided_or_corrected_again_shows_so_in_the_summary(issued, tmp_path):
    """The summary had shown every correction as 「修正インボイス (… を訂正)」, in force or not."""
    _, out = issued
    for minutes in (300, 30):
        changed = workbook(tmp_path / f"changed_{minutes}.xlsx",
                           incidents={"I-1003": {"minutes": minutes}})
        assert invoice(changed, out, "--correct") == 1
    assert main(["register", "void", "INV-202610-0019", "--reason", "誤り", "--out",
                 str(out)]) == 0
    rows = {r[0]: r[12] for r in summary_rows(out)}
    assert rows["INV-202610-0001"] == "修正済み → INV-202610-0018"
    assert rows["INV-202610-0018"] == "修正済み → INV-202610-0019 (INV-202610-0001 を訂正)"
    assert rows["INV-202610-0019"] == "取消 (INV-202610-0018 を訂正)"
    # the cancelling document tells the customer the invoice it corrected stays void too
    (notice,) = (out / MONTH).glob("取消_INV-202610-0019_*.xlsx")
    texts = [str(v) for row in openpyxl.load_workbook(notice).active.iter_rows(values_only=True)
             for v in row if v is not None]
    assert ("INV-202610-0019 は INV-202610-0018 を訂正した修正インボイスです。INV-202610-0018 も"
            "無効のままです。") in texts


@pytest.mark.parametrize(("reason", "refusal"), [
    ("誤り\x1b[2J", "制御文字 (U+001B)"),  # an escape sequence, printed raw by register show
    ("誤り\x0b", "制御文字 (U+000B)"),  # at the end too (str.strip() would drop it)
    ("誤り\n再発行", "制御文字 (U+000A)"),  # one line: register list shows one per document
    ("誤" * 501, "500 文字までです"),  # the cancelling document prints it whole
    ("\u200b\u200b", "取消の理由を --reason で書いてください"),  # shows nothing: no reason
])
def test_a_void_reason_a_document_cannot_print_is_refused(issued, capsys, registers, reason,
                                                          refusal):
    _, out = issued
    capsys.readouterr()
    assert main(["register", "void", "INV-202610-0004", "--reason", reason, "--out",
                 str(out)]) == 2
    assert refusal in capsys.readouterr().err
    (doc,) = [d for d in registers.open(out).list() if d.number == "INV-202610-0004"]
    assert doc.cancellation is None and not list((out / MONTH).glob("取消_*"))


def test_a_document_date_far_ahead_is_refused_as_a_typo(issued, tmp_path, capsys, registers):
    """--issue-date 2031-01-01 (for 2026) had dated the invoice, then every cancellation and
    reissue of its contract, years ahead."""
    _, out = issued
    far = jst_today() + dt.timedelta(days=32)
    capsys.readouterr()
    assert main(["register", "void", "INV-202610-0004", "--reason", "誤り", "--out", str(out),
                 "--issue-date", far.isoformat()]) == 2
    assert f"取消日 {far} は {jst_today()} から 31 日より後です" in capsys.readouterr().err
    changed = workbook(tmp_path / "changed.xlsx", incidents={"I-1003": {"minutes": 300}})
    assert invoice(changed, out, "--correct", "--issue-date", far.isoformat()) == 2
    assert f"請求日 {far} は {jst_today()} から 31 日より後です" in capsys.readouterr().err
    assert len(registers.open(out).list()) == 17  # nothing issued, nothing cancelled
    assert all(d.cancellation is None for d in registers.open(out).list())
    # a month ahead is a date a clerk may choose (the month's invoices prepared early)
    near = jst_today() + dt.timedelta(days=31)
    assert invoice(changed, out, "--correct", "--issue-date", near.isoformat()) == 1


def test_a_corrected_invoice_is_voided_through_its_correction(issued, tmp_path, capsys):
    _, out = issued
    changed = workbook(tmp_path / "changed.xlsx", incidents={"I-1003": {"minutes": 300}})
    assert invoice(changed, out, "--correct") == 1
    capsys.readouterr()
    assert main(["register", "void", "INV-202610-0001", "--reason", "x", "--out", str(out)]) == 2
    assert "INV-202610-0018" in capsys.readouterr().err
    assert main(["register", "void", "INV-202610-0018", "--reason", "二重請求", "--out",
                 str(out)]) == 0


def test_register_options_before_or_after_the_action(issued, capsys, registers):
    _, out = issued
    outputs = []
    for argv in (["register", "list", "--out", str(out), "--json"],
                 ["register", "--out", str(out), "list", "--json"],
                 ["register", "--out", str(out), "--json", "list"],
                 ["register", "--register", registers.location(out), "list", "--json"]):
        capsys.readouterr()
        assert main(argv) == 0, argv
        outputs.append(json.loads(capsys.readouterr().out))
    assert all(o == outputs[0] for o in outputs) and len(outputs[0]) == 17
    assert main(["register", "show", "INV-202610-0001", "--out", str(out / "nowhere")]) == 2
    # a number copied from a document, full width or with spaces around it, is the number
    for typed in ("ＩＮＶ－２０２６１０－０００１", " INV-202610-0001\u3000"):
        capsys.readouterr()
        assert main(["register", "show", typed, "--out", str(out), "--json"]) == 0, typed
        assert json.loads(capsys.readouterr().out)["invoice"]["number"] == "INV-202610-0001"


def test_a_pending_decision_holds_the_invoice_until_it_is_recorded(issued, tmp_path, capsys):
    _, out = issued
    draft = out / MONTH / "下書き_C004_株式会社ヒバリ物流.xlsx"
    assert draft.is_file() and draft.with_suffix(".pdf").is_file()
    attention = openpyxl.load_workbook(out / MONTH / f"請求一覧_{MONTH}.xlsx")["要確認"]
    held = [r for r in attention.iter_rows(min_row=2, values_only=True) if r[1] == "C004"]
    assert held and held[0][0] == "下書き" and held[0][2] == "I-1009"
    decided = workbook(tmp_path / "decided.xlsx",
                       incidents={"I-1009": {"limit_decision": "continue"}})
    capsys.readouterr()
    # the month's issue date has passed: the released invoice is dated the day it is issued
    assert main(["invoice", str(decided), "--month", MONTH, "--out", str(out), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    (c004,) = [i for i in result["invoices"] if i["contract_id"] == "C004"]
    assert c004["number"] == "INV-202610-0018" and c004["change"] == "new"
    assert c004["issue_date"] == max(dt.date(2026, 11, 2), jst_today()).isoformat()
    assert not draft.exists() and not draft.with_suffix(".pdf").exists()
    assert result["drafts"] == []


def test_issue_pending_issues_now(tmp_path, capsys, registers):
    book = workbook(tmp_path / "invoicing.xlsx")
    code, result = invoice_json(capsys, book, tmp_path / "out", "--issue-pending")
    (c004,) = [i for i in result["invoices"] if i["contract_id"] == "C004"]
    assert c004["number"] and c004["issue_date"] == ISSUED and result["drafts"] == []
    assert code == 1  # limit_pending still needs someone to act
    policy = workbook(tmp_path / "policy.xlsx", settings={"pending_decision": "発行"})
    _, result = invoice_json(capsys, policy, tmp_path / "out2")
    assert result["drafts"] == [] and len(result["invoices"]) == 18


def test_a_month_with_nothing_to_pay_is_a_statement(issued, tmp_path, capsys):
    _, out = issued
    _, result = invoice_json(capsys, workbook(tmp_path / "invoicing.xlsx"), out)
    (statement,) = result["statements"]
    assert statement["contract_id"] == "V001" and statement["number"] is None
    assert statement["total"] == 0 and Path(statement["xlsx"]).name.startswith("明細_V001_")
    numbered = workbook(tmp_path / "numbered.xlsx", settings={"zero_total": "請求書"})
    _, result = invoice_json(capsys, numbered, tmp_path / "out2")
    assert result["statements"] == []
    assert [i["total"] for i in result["invoices"] if i["contract_id"] == "V001"] == [0]


def test_a_month_that_has_not_ended_is_refused(tmp_path, capsys, registers):
    book = workbook(tmp_path / "invoicing.xlsx")
    today = jst_today()
    this_month = f"{today:%Y-%m}"
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["invoice", str(book), "--month", this_month, "--out", str(out), "--json",
                 *register_args(out)]) == 2
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "invalid" and result["problems"][0]["column"] == "month"
    assert "--allow-open-month" in result["problems"][0]["reason"]
    assert not out.exists()
    assert main(["invoice", str(book), "--month", this_month, "--out", str(out),
                 "--allow-open-month", "--no-pdf", *register_args(out)]) in (0, 1)
    allowed = workbook(tmp_path / "allowed.xlsx", settings={"open_month": "作る"})
    assert main(["invoice", str(allowed), "--month", str(Month.parse(this_month).plus(1)),
                 "--out", str(tmp_path / "out2"), "--no-pdf",
                 *register_args(tmp_path / "out2")]) in (0, 1)


def test_a_long_japanese_customer_name_fits_the_file_name_limit(tmp_path, capsys, registers):
    name = "株式会社" + "長い名前の会社" * 5 + "ホールディングス"  # 47 characters
    book = workbook(tmp_path / "invoicing.xlsx", contracts={"C001": {"customer": name}})
    out = tmp_path / "out"
    assert invoice(book, out) == 1
    path = one(out / MONTH, "INV-202610-0001_C001_*.xlsx")
    assert len(path.name.encode()) <= NAME_BYTES
    assert path.name.startswith("INV-202610-0001_C001_株式会社長い名前")
    assert main(["register", "void", "INV-202610-0001", "--reason", "テスト", "--out",
                 str(out)]) == 0
    cancel = one(out / MONTH, "取消_INV-202610-0001_C001_*.xlsx")
    assert len(cancel.name.encode()) <= NAME_BYTES


def test_a_folder_numbered_by_another_register_is_refused(issued, tmp_path, capsys):
    book, out = issued
    before = files(out / MONTH)
    capsys.readouterr()
    assert invoice(book, out, "--register", str(tmp_path / "other.sqlite3"), "--json") == 2
    result = json.loads(capsys.readouterr().out)
    assert "別の請求番号台帳" in result["message"]
    assert files(out / MONTH) == before and not (tmp_path / "other.sqlite3").exists()


def test_a_copied_folder_takes_no_number_its_original_may_take(issued, tmp_path, capsys,
                                                               registers):
    """A copy of an output folder (a backup, a folder taken along) issued INV-202610-0018 for
    ¥30,800 while the original issued it for another amount: the copy carries a copy of the
    register (same id), or shares the original's server register under the same folder id.
    Now a run or a void in the copy is refused, naming both places, and changes nothing; the
    original goes on."""
    _, out = issued
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = every_file(copy)
    changed = workbook(tmp_path / "changed.xlsx", incidents={"I-1003": {"minutes": 300}})
    own_register = registers.args(out)  # SQLite: none named, the copy's register.sqlite3
    code, result = invoice_json(capsys, changed, copy, "--correct", *own_register)
    assert (code, result["status"], result["exit_code"]) == (2, "refused", 2)
    assert "コピー" in result["message"] and "何も変更していません" in result["message"]
    assert str(out) in result["message"] and str(copy) in result["message"]
    assert main(["register", "void", "INV-202610-0002", "--reason", "誤請求", "--out",
                 str(copy), "--no-pdf", *own_register]) == 2
    assert "コピー" in capsys.readouterr().err
    assert every_file(copy) == before
    numbering = [registers.open(out)] + (
        [Register(copy / "register.sqlite3")] if registers.kind == "sqlite" else [])
    assert [len(register.list()) for register in numbering] == [17] * len(numbering)
    code, result = invoice_json(capsys, changed, out, "--correct")
    assert code == 1
    assert [(i["number"], i["total"]) for i in result["invoices"]
            if i["contract_id"] == "C001"] == [("INV-202610-0001", 24_200),
                                               ("INV-202610-0018", 30_800)]


@pytest.mark.parametrize("how", ["without its hidden files", "register for a new folder"])
def test_a_copied_register_file_takes_no_number_without_the_folders_marker(issued, tmp_path,
                                                                          capsys, how):
    """``cp -r out/* copy/`` leaves the folder's marker behind, and a register file copied for
    a new folder has none: each copy took the folder for a new one and issued INV-202610-0018
    while the original did. The register file records where it is: a copy is refused."""
    _, out = issued
    if not (out / "register.sqlite3").exists():
        pytest.skip("a server register: no file to copy")
    copy = tmp_path / "copy"
    if how == "without its hidden files":
        copy.mkdir()
        for item in out.iterdir():
            if not item.name.startswith("."):
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, copy / item.name)
        args: tuple[str, ...] = ()
    else:
        shutil.copy2(out / "register.sqlite3", tmp_path / "laptop.sqlite3")
        args = ("--register", str(tmp_path / "laptop.sqlite3"))
    changed = workbook(tmp_path / "changed.xlsx", incidents={"I-1003": {"minutes": 300}})
    code, result = invoice_json(capsys, changed, copy, "--correct", *args)
    assert (code, result["status"]) == (2, "refused")
    assert f"{out / 'register.sqlite3'} にある台帳のコピーです" in result["message"]
    assert not list(copy.glob(f"{MONTH}/INV-202610-0018*"))


def test_a_moved_folder_keeps_issuing_and_remembers_where_its_register_is(issued, tmp_path,
                                                                          capsys, registers):
    """A folder moved as a whole (``mv``) is no copy: nothing is left where it was, or
    another folder is there now. It issues and voids on, and its marker and the register
    learn where it is."""
    book, out = issued
    moved = tmp_path / "moved"
    out.rename(moved)
    own_register = registers.args(out)
    if registers.kind == "sqlite":  # a new folder where it was, with a register of its own
        assert invoice(book, out) == 1
    changed = workbook(tmp_path / "changed.xlsx", incidents={"I-1003": {"minutes": 300}})
    code, result = invoice_json(capsys, changed, moved, "--correct", *own_register)
    assert code == 1
    (correction,) = [i for i in result["invoices"] if i["kind"] == "correction"]
    assert (correction["number"], correction["status"]) == ("INV-202610-0018", "issued")
    assert one(moved / MONTH, "INV-202610-0018_C001_*.xlsx")
    register = (Register(moved / "register.sqlite3") if registers.kind == "sqlite"
                else registers.open(out))
    marker = json.loads((moved / MARKER_NAME).read_text(encoding="utf-8"))
    assert marker["register_location"] == register.location
    with register.reading() as ledger:
        assert ledger.folder_place(marker["folder_id"])[1] == str(moved)
    assert main(["register", "void", "INV-202610-0018", "--reason", "誤り", "--out", str(moved),
                 "--no-pdf", *own_register]) == 0
    assert [d.number for d in register.list()] == [f"INV-202610-{n:04d}" for n in range(1, 19)]


def test_a_register_file_named_another_way_is_used_and_a_copy_of_it_refused(tmp_path, capsys):
    """A register file named for a folder (shared by its runs) is the same file through a
    link; a copy of it would number the folder's invoices again, and so would a copy of the
    folder numbered from the file; moved, the file numbers on from its new place."""
    book = workbook(tmp_path / "invoicing.xlsx")
    changed = workbook(tmp_path / "changed.xlsx", incidents={"I-1003": {"minutes": 300}})
    out, shared = tmp_path / "out", tmp_path / "shared"
    register = shared / "register.sqlite3"
    assert invoice(book, out, "--register", str(register)) == 1
    marker = (out / MARKER_NAME).read_text(encoding="utf-8")
    (tmp_path / "link").symlink_to(shared)
    assert invoice(book, out, "--register", str(tmp_path / "link" / "register.sqlite3")) == 1
    assert (out / MARKER_NAME).read_text(encoding="utf-8") == marker
    copied = tmp_path / "copied.sqlite3"
    shutil.copy(register, copied)
    before = every_file(out)
    code, result = invoice_json(capsys, changed, out, "--correct", "--register", str(copied))
    assert (code, result["status"]) == (2, "refused")
    assert str(register) in result["message"] and str(copied) in result["message"]
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    code, result = invoice_json(capsys, changed, copy, "--correct", "--register", str(register))
    assert (code, result["status"]) == (2, "refused")
    assert f"{copy} と {out} は同じフォルダのコピーです" in result["message"]
    assert every_file(out) == every_file(copy) == before
    assert len(Register(register).list()) == len(Register(copied).list()) == 17
    moved = tmp_path / "moved.sqlite3"
    register.rename(moved)
    assert invoice(changed, out, "--correct", "--register", str(moved)) == 1
    assert json.loads((out / MARKER_NAME).read_text(encoding="utf-8"))["register_location"] == (
        str(moved))
    assert len(Register(moved).list()) == 18


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("xlquote ")


def test_invoices_of_a_first_format_register_stay_issued(tmp_path, capsys):
    """A register of the first format knew numbers and content hashes only: a rerun finds its
    invoices unchanged (by that hash) and leaves their files alone; new contracts get new
    numbers after them."""
    from xlquote import bill_month
    from xlquote.app.documents import first_register_hash
    from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs

    run = bill_month(sample_contracts(), sample_incidents(), MONTH, sample_packs())
    c001 = next(i for i in run.invoices if i.contract.contract_id == "C001")
    out = tmp_path / "out"
    (out / MONTH).mkdir(parents=True)
    old_file = out / MONTH / f"{C001}.xlsx"
    old_file.write_bytes(b"issued by the first version")
    import sqlite3

    with sqlite3.connect(out / "register.sqlite3") as connection:
        connection.executescript("""
            CREATE TABLE invoices (number TEXT PRIMARY KEY, month TEXT NOT NULL,
                seq INTEGER NOT NULL, contract_id TEXT NOT NULL, customer TEXT NOT NULL,
                kind TEXT NOT NULL, corrects TEXT, subtotal INTEGER NOT NULL,
                tax INTEGER NOT NULL, total INTEGER NOT NULL, content_hash TEXT NOT NULL,
                issued_at TEXT NOT NULL, UNIQUE (month, seq));""")
        connection.execute("INSERT INTO invoices VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                           ("INV-202610-0001", MONTH, 1, "C001", "株式会社アオバ商事", "invoice",
                            None, c001.subtotal, c001.tax, c001.total,
                            first_register_hash(c001), "2026-11-02T00:00:00+00:00"))
    code, result = invoice_json(capsys, workbook(tmp_path / "wb.xlsx"), out)
    assert code == 1
    first = next(i for i in result["invoices"] if i["contract_id"] == "C001")
    assert (first["number"], first["change"]) == ("INV-202610-0001", "unchanged")
    assert old_file.read_bytes() == b"issued by the first version"
    assert result["register"] == {"path": str(out / "register.sqlite3"), "kind": "sqlite",
                                  "created": False, "unchanged": 1, "new": 16, "held": 1,
                                  "statement": 1}
    assert next(i for i in result["invoices"] if i["contract_id"] == "C002")["number"] == (
        "INV-202610-0002")


def test_an_issued_file_damaged_in_the_folder_is_reported_and_left_alone(issued, capsys,
                                                                         tmp_path):
    """A PDF truncated to nothing or an xlsx with bytes added was kept and the rerun said
    "unchanged". Now the clerk is told (exit 1) which file no longer matches what was
    issued; moved away, it is drawn again from the register, byte for byte as issued."""
    book, out = issued
    before = files(out / MONTH)
    pdf, xlsx = one(out / MONTH, f"{C001}.pdf"), one(out / MONTH, "INV-202610-0005_*.xlsx")
    pdf.write_bytes(b"")
    with xlsx.open("ab") as appended:
        appended.write(b"junk")
    code, result = invoice_json(capsys, book, out)
    differing = [n["message"].split(" ")[0] for n in result["notices"]
                 if n["code"] == "file_differs" and n["attention"]]
    assert code == 1 and sorted(differing) == sorted([pdf.name, xlsx.name])
    assert pdf.read_bytes() == b"" and xlsx.read_bytes().endswith(b"junk")  # left as found
    pdf.rename(tmp_path / pdf.name)
    xlsx.rename(tmp_path / xlsx.name)
    code, result = invoice_json(capsys, book, out)
    assert not [n for n in result["notices"] if n["code"] == "file_differs"]
    assert files(out / MONTH) == before


def test_a_name_the_pdf_font_cannot_print_is_a_notice(tmp_path, capsys, registers):
    """𠮷 (the usual spelling of a real customer's name) is not in the PDF font: the invoice's
    addressee printed a box, with no word to the clerk."""
    book = workbook(tmp_path / "invoicing.xlsx", contracts={"C001": {"customer": "株式会社𠮷野"}},
                    settings={"issuer_name": "テスト株式会社™"})
    code, result = invoice_json(capsys, book, tmp_path / "out")
    found = [n for n in result["notices"] if n["code"] == "missing_glyphs"]
    assert code == 1 and all(n["attention"] for n in found)
    assert [(n["contract_id"], n["message"].split("。")[0]) for n in found] == [
        (None, "Settings の issuer_name に PDF の字形がない文字があります: ™ (U+2122)"),
        ("C001", "C001 の請求先名 (customer) に PDF の字形がない文字があります: 𠮷 (U+20BB7)")]
    # without PDFs nothing prints a box
    code, result = invoice_json(capsys, book, tmp_path / "out-xlsx", "--no-pdf")
    assert not [n for n in result["notices"] if n["code"] == "missing_glyphs"]


def test_a_cancellation_date_counts_ahead_from_an_invoice_dated_ahead(tmp_path, capsys,
                                                                     registers):
    """A month invoiced before it ends is dated after it: its cancellation, dated that day by
    default, was refused when chosen as that same day (31 days counted from today)."""
    today = jst_today()
    month = Month(today.year, today.month)
    dated = month.last_day + dt.timedelta(days=20)
    book = workbook(tmp_path / "invoicing.xlsx")
    out = tmp_path / "out"
    assert invoice(book, out, "--allow-open-month", "--issue-date", dated.isoformat(),
                   month=str(month)) in (0, 1)
    first = registers.open(out).list()[0]
    assert first.issue_date == dated
    later = dated + dt.timedelta(days=20)
    assert main(["register", "void", first.number, "--reason", "誤り", "--out", str(out),
                 "--issue-date", later.isoformat()]) == 0
    (voided,) = [d for d in registers.open(out).list() if d.number == first.number]
    assert voided.cancellation is not None and voided.cancellation.cancelled_on == later


@pytest.mark.parametrize(("incident", "description", "contract", "shown"), [
    # C001's own PDF: 𠮷 is named with its customer's name, ™ by the PDF
    ("I-1003", "𠮷野様の™ライセンス確認", "C001", "™ (U+2122)"),
    # C003's PDF: 𠮷 named for C001's customer does not stand for C003's description
    ("I-1005", "𠮷野様の再起動の確認", "C003", "𠮷 (U+20BB7)"),
])
def test_a_description_the_pdf_font_cannot_print_is_a_notice_naming_the_pdf(
        tmp_path, capsys, registers, incident, description, contract, shown):
    """An incident's description is printed on the statement: a character the font lacks is
    a box there too. Named by the PDF that prints it, once (not again where that PDF's own
    customer's name already named it)."""
    book = workbook(tmp_path / "invoicing.xlsx",
                    contracts={"C001": {"customer": "株式会社𠮷野"}},
                    incidents={incident: {"description": description}})
    code, result = invoice_json(capsys, book, tmp_path / "out")
    found = [n["message"].split("。")[0] for n in result["notices"]
             if n["code"] == "missing_glyphs"]
    pdf = one(tmp_path / "out" / MONTH, f"INV-*_{contract}_*.pdf").name
    assert code == 1 and found == [
        "C001 の請求先名 (customer) に PDF の字形がない文字があります: 𠮷 (U+20BB7)",
        f"{pdf} に PDF の字形がない文字があります: {shown}"]
