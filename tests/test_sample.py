"""The sample data behind ``xlquote demo`` and the invoicing workbook: realistic, deterministic,
covering every rule the issue lists, and the public worked examples billed exactly."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex

import openpyxl
import pytest
from clerk import workbook as clerk_workbook

from xlquote import bill_month
from xlquote.app.sample import (
    SAMPLE_MONTH,
    sample_contracts,
    sample_incidents,
    sample_packs,
    sample_settings,
)
from xlquote.cli import main
from xlquote.engine.records import contracts_from_records


@pytest.fixture(scope="module")
def october():
    run = bill_month(sample_contracts(), sample_incidents(), SAMPLE_MONTH, sample_packs())
    return {inv.contract.contract_id: inv for inv in run.invoices}


def test_sample_is_deterministic_and_valid():
    assert sample_contracts() == sample_contracts()
    assert sample_incidents() == sample_incidents()
    contracts = contracts_from_records(sample_contracts())  # raises on any bad row
    assert 18 <= len(contracts) <= 22
    assert {c.plan for c in contracts} == {"annual", "monthly", "vendor_support", "callcenter"}
    assert {c.pricebook for c in contracts} == {"aki_sie", "vendor_support"}
    assert sample_settings()["registration_number"] == "T1234567890123"


def test_incident_log_spans_months():
    closed = [i["closed"] for i in sample_incidents() if i["closed"]]
    assert min(closed) < dt.date(2026, 6, 1)
    assert sum(d >= dt.date(2026, 10, 1) for d in closed) >= 25
    assert any(i["closed"] is None for i in sample_incidents())  # still open: not billed


def test_october_covers_every_rule(october):
    kinds = {line.kind for inv in october.values() for line in inv.lines}
    assert {"overage", "absorbed_service", "chart", "pack_topup", "callcenter_initial",
            "annual_base_fee", "vendor_annual_fee", "pack"} <= kinds
    flags = {code for inv in october.values() for code in inv.flag_codes()}
    assert {"limit_pending", "over_monthly_max", "units_topped_up", "rejected"} <= flags
    feathers = [e for inv in october.values() if inv.pricebook == "aki_sie"
                for e in inv.statement if e.level == 0]
    assert len(feathers) >= 4
    assert "C011" not in october  # the contract ended in September


# Words a staff message may show in Latin letters: the sheets' and their columns' names.
COLUMN_NAMES = {"Incidents", "Contracts", "limit_decision", "level_override", "member",
                "members_allowed", "approved_by", "onsite_fee", "overage_policy", "end_date",
                "DM"}


def test_flag_messages_are_japanese(october):
    """The clerk reads each flag's message (attention list, 要確認 sheet, the button's table):
    Japanese sentences, naming only sheets and columns in Latin letters."""
    flags = [flag for inv in october.values() for flag in inv.flags]
    assert {f.code for f in flags} >= {"limit_pending", "over_monthly_max", "units_topped_up",
                                       "rejected", "urgent", "onsite_quote"}
    for flag in flags:
        assert re.search("[ぁ-ん]", flag.message), flag
        assert set(re.findall("[A-Za-z_]+", flag.message)) <= COLUMN_NAMES, flag


def test_worked_examples_from_the_spec(october):
    assert october["C001"].total == 24_200  # RULES 5.1
    assert october["C002"].total == 22_000  # RULES 5.2
    v001 = october["V001"]  # RULES 5.3
    assert v001.total == 0
    assert [(p.used_this_month, p.left, p.expires) for p in v001.packs] == [
        (4, 2, dt.date(2027, 3, 31))]
    assert october["CC01"].total == 5_720_000  # RULES 5.4
    absorbed = october["C005"].lines  # RULES 5.5
    assert [(line.kind, line.amount) for line in absorbed] == [
        ("incident", 0), ("absorbed_service", 100_000)]


def test_demo_without_libreoffice(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("XLQUOTE_SOFFICE", raising=False)
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "demo" / "invoicing.xlsm").is_file()
    month = tmp_path / "demo" / "invoices" / "2026-10"
    assert len(list(month.glob("INV-202610-*.xlsx"))) == 17  # C004 held, V001 a statement
    assert len(list(month.glob("INV-202610-*.pdf"))) == 17  # PDFs need no LibreOffice
    assert str(month) in out and "¥9,864,800" in out
    # every PDF written is counted, by kind: the invoices, C004's draft and V001's statement
    assert len(list(month.glob("*.pdf"))) == 19
    assert "今回作成した PDF 19 件 (請求書 17, 下書き 1, 明細 1)" in out
    # the clerk reads Japanese; sheet names and the command are public names
    workbook = tmp_path / "demo" / "invoicing.xlsm"
    assert f"サンプルの請求書作成ブック: {workbook}" in out
    assert "シート Contracts / Incidents / Packs / Settings。Invoices シートの「請求書作成」" in out
    assert f"請求書の例: {month / 'INV-202610-0001_C001_株式会社アオバ商事.pdf'}" in out
    assert (f"同じ処理をコマンドで実行するには:\n  xlquote invoice {workbook} --month 2026-10 "
            f"--out {tmp_path / 'demo' / 'invoices'}\n") in out
    assert not re.search(r"Sample|sheets|button|Open an|Run the", out)
    # the same count in JSON, and a rerun writes only the draft's and the statement's again
    capsys.readouterr()
    assert main(["invoice", str(workbook), "--month", "2026-10", "--out",
                 str(tmp_path / "demo" / "invoices"), "--json"]) == 1
    pdf = json.loads(capsys.readouterr().out)["pdf"]
    assert pdf["count"] == 2 and pdf["written"] == {"draft": 1, "statement": 1}


def test_demo_keeps_an_edited_workbook(tmp_path, capsys):
    demo = tmp_path / "demo"
    assert main(["demo", "--out", str(demo), "--no-pdf"]) == 0
    assert main(["demo", "--out", str(demo), "--no-pdf"]) == 0  # the same workbook: fine
    workbook = demo / "invoicing.xlsm"
    wb = openpyxl.load_workbook(workbook, keep_vba=True)
    wb["Contracts"]["B2"] = "株式会社アオバ商事 (編集)"
    wb.save(workbook)
    edited = workbook.read_bytes()
    capsys.readouterr()
    assert main(["demo", "--out", str(demo), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert "編集されています" in err and "--force" in err and "Contracts!B2" in err
    assert workbook.read_bytes() == edited
    assert main(["demo", "--out", str(demo), "--no-pdf", "--force"]) == 0  # the sample again
    assert openpyxl.load_workbook(workbook)["Contracts"]["B2"].value == "株式会社アオバ商事"


def test_demo_names_the_command_that_corrects_a_changed_invoice(tmp_path, capsys):
    demo = tmp_path / "demo"
    invoices = demo / "invoices"
    assert main(["demo", "--out", str(demo), "--no-pdf"]) == 0
    # C001 corrected from another workbook: the sample's C001 now differs from what is in force
    changed = clerk_workbook(tmp_path / "changed.xlsx", incidents={"I-1003": {"minutes": 300}})
    assert main(["invoice", str(changed), "--month", "2026-10", "--out", str(invoices),
                 "--correct", "--no-pdf"]) == 1
    capsys.readouterr()
    assert main(["demo", "--out", str(demo), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    workbook = demo / "invoicing.xlsm"
    command = f"xlquote invoice {workbook} --month 2026-10 --out {invoices} --correct"
    assert "INV-202610-0018 (C001, 合計 30,800 → 24,200)" in err
    assert f"修正インボイスを発行するには `{command}` を実行してください" in err
    assert "を付けてもう一度" not in err
    # the command named does it
    assert main([*command.split()[1:], "--no-pdf"]) == 1
    assert main(["demo", "--out", str(demo), "--no-pdf"]) == 0


def test_the_command_the_demo_prints_runs_when_pasted(tmp_path, capsys):
    """A folder with a space: the printed command split at it, and pasted it was exit 2."""
    out = tmp_path / "デモ フォルダ"
    assert main(["demo", "--out", str(out), "--no-pdf"]) == 0
    printed = capsys.readouterr().out.split("同じ処理をコマンドで実行するには:\n  ")[1].strip()
    command = shlex.split(printed)
    assert command[:3] == ["xlquote", "invoice", str(out / "invoicing.xlsm")]
    assert main([*command[1:], "--no-pdf"]) == 1  # the demo month's flags


def test_a_folder_the_demo_cannot_write_is_named_as_given(tmp_path, capsys, monkeypatch):
    """Named by the hidden folder the workbook is built in (ro/.build-oj44x7wt)."""
    import errno

    from xlquote.app import workbooks

    def refused(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", f"{dir}/.build-oj44x7wt")

    monkeypatch.setattr(workbooks.tempfile, "TemporaryDirectory", refused)
    assert main(["demo", "--out", str(tmp_path / "ro"), "--no-pdf"]) == 3
    err = capsys.readouterr().err
    assert f"書き込めません: {tmp_path / 'ro'}: 読み取り専用のフォルダです" in err
    assert ".build-" not in err
