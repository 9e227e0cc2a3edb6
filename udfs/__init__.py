"""Excel functions (xlwings UDFs) of xlquote; see ``udfs/xlquote_udfs.py`` and docs/EXCEL.md."""
