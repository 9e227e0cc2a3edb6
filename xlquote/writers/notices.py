"""The notices workbook (お知らせ一覧): one row per notice, its Japanese text ready to send, and
the open incidents in the order they are served (対応待ち)."""

from __future__ import annotations

from pathlib import Path

from ..engine.codes import CHANNEL_LABELS_JA, PLAN_LABELS_JA
from ..engine.notices import NOTICE_LABELS_JA, NoticeReport
from .fast_xlsx import (
    close_xlsxwriter,
    setup_a4_xlsxwriter,
    write_xlsxwriter_row,
    xlsxwriter_workbook,
)
from .xlsx import DATE_FORMAT, atomic_path

NOTICES_SHEET = "お知らせ一覧"
OPEN_SHEET = "対応待ち"
NOTICE_HEADER = ("日付", "種類", "契約ID", "お客様", "インシデント", "本文")
OPEN_HEADER = ("順番", "インシデント", "契約ID", "プラン", "窓口", "受付日", "応答期限", "期限超過")
NOTICE_WIDTHS = (11, 24, 9, 30, 12, 90)
OPEN_WIDTHS = (6, 12, 9, 14, 16, 11, 11, 9)
HEADER_STYLE = {"bold": True, "bg_color": "#DDE4EE"}


def write_notices_workbook(report: NoticeReport, path: str | Path) -> Path:
    """Written atomically and reproducibly (same report, same bytes)."""
    with atomic_path(path) as temp, xlsxwriter_workbook(temp) as wb:
        header = wb.add_format(HEADER_STYLE)
        dates = wb.add_format({"num_format": DATE_FORMAT, "valign": "top"})
        wrapped = wb.add_format({"text_wrap": True, "valign": "top"})
        top = wb.add_format({"valign": "top"})

        ws = wb.add_worksheet(NOTICES_SHEET)
        ws.write_string(0, 0, f"{NOTICES_SHEET} {report.month.year}年{report.month.month}月 "
                              f"({report.as_of:%Y/%m/%d} 時点)", wb.add_format({"bold": True,
                                                                                  "font_size": 14}))
        for col, width in enumerate(NOTICE_WIDTHS):
            ws.set_column(col, col, width)
        write_xlsxwriter_row(ws, 2, NOTICE_HEADER, [header] * len(NOTICE_HEADER))
        for row, notice in enumerate(report.notices, start=3):
            write_xlsxwriter_row(ws, row, (notice.date, NOTICE_LABELS_JA[notice.kind],
                                           notice.contract_id, notice.customer,
                                           notice.incident_id or "", notice.text),
                                 [dates, top, top, top, top, wrapped])
        if not report.notices:
            ws.write_string(3, 0, "新しいお知らせはありません。")
        ws.freeze_panes(3, 0)
        setup_a4_xlsxwriter(ws, landscape=True)

        waiting = wb.add_worksheet(OPEN_SHEET)
        for col, width in enumerate(OPEN_WIDTHS):
            waiting.set_column(col, col, width)
        write_xlsxwriter_row(waiting, 0, OPEN_HEADER, [header] * len(OPEN_HEADER))
        for row, item in enumerate(report.open_incidents, start=1):
            write_xlsxwriter_row(waiting, row, (
                row, item.incident_id, item.contract_id, PLAN_LABELS_JA[item.plan],
                CHANNEL_LABELS_JA[item.channel], item.opened, item.response_due or "—",
                "期限超過" if item.overdue else ""), [None, None, None, None, None, dates,
                                                     dates, None])
        waiting.freeze_panes(1, 0)
        setup_a4_xlsxwriter(waiting, landscape=True)
        close_xlsxwriter(wb)
    return Path(path)
