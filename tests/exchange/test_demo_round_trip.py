"""The demo data a new user meets exports and imports back with no rejected row and no
change: what the CRM writes itself passes its own import checks."""

from __future__ import annotations

import re

import pytest

from crm.exchange.registry import kinds


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_export_of_the_demo_data_imports_back_unchanged(runner, tmp_path, fmt):
    loaded = runner.invoke(args=["crm", "demo", "--partners", "40", "--seed", "7"])
    assert loaded.exit_code == 0, loaded.output

    for kind in sorted(kinds()):
        path = tmp_path / f"{kind}.{fmt}"
        exported = runner.invoke(args=["crm", "export", kind, "--format", fmt, "-o", str(path)])
        assert exported.exit_code == 0, exported.output
        rows = int(re.search(r"Exported (\d+) ", exported.output)[1])
        assert rows > 0, kind

        checked = runner.invoke(args=["crm", "import", kind, str(path), "--dry-run"])

        assert checked.exit_code == 0, f"{kind}: {checked.output}"
        assert checked.output.strip().splitlines()[-1] == (
            f"Dry run, nothing written. {rows} rows: 0 new, 0 updated, {rows} unchanged, "
            "0 rejected."
        ), kind
