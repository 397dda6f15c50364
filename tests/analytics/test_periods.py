"""Period buckets: every month, ISO week or quarter that overlaps a window, empty ones too."""

from datetime import date

import pytest

from crm.analytics.periods import bucket_label, bucket_start, buckets


def test_months_cover_partial_first_and_last_month():
    assert buckets(date(2026, 1, 31), date(2026, 4, 1)) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
        date(2026, 4, 1),
    ]


def test_months_cross_the_year_and_one_day_is_one_bucket():
    assert buckets(date(2025, 12, 15), date(2026, 1, 2), "month") == [
        date(2025, 12, 1),
        date(2026, 1, 1),
    ]
    assert buckets(date(2026, 2, 28), date(2026, 2, 28)) == [date(2026, 2, 1)]


def test_weeks_run_monday_to_sunday():
    # 2026-01-04 is a Sunday (week of Monday 2025-12-29), 2026-01-05 a Monday.
    assert buckets(date(2026, 1, 4), date(2026, 1, 12), "week") == [
        date(2025, 12, 29),
        date(2026, 1, 5),
        date(2026, 1, 12),
    ]
    assert bucket_start(date(2026, 1, 11), "week") == date(2026, 1, 5)
    assert bucket_label(date(2025, 12, 29), "week") == "2026-W01"


def test_quarters():
    assert buckets(date(2025, 11, 30), date(2026, 4, 1), "quarter") == [
        date(2025, 10, 1),
        date(2026, 1, 1),
        date(2026, 4, 1),
    ]
    assert bucket_label(date(2026, 4, 1), "quarter") == "2026-Q2"
    assert bucket_label(date(2026, 4, 1), "month") == "2026-04"


def test_an_empty_window_has_no_bucket_and_an_unknown_bucket_is_refused():
    assert buckets(date(2026, 2, 1), date(2026, 1, 31)) == []
    with pytest.raises(ValueError):
        buckets(date(2026, 1, 1), date(2026, 2, 1), "year")
