"""`crm report funnel|deal-effectiveness|forecast|deal-probabilities`: the exact CSV of the
spec's output contract over small hand-built histories (tests/deals/report_history.py), and
clear refusals of bad arguments."""

from datetime import date

import pytest

from tests.deals.report_history import (
    build_forecast_history,
    build_sales_history,
    build_unreached_history,
)


@pytest.fixture
def sales(make_user, make_partner, make_deal_kind, make_deal):
    return build_sales_history(make_user, make_partner, make_deal_kind, make_deal)


@pytest.fixture
def forecast_history(make_user, make_partner, make_deal_kind, make_deal):
    return build_forecast_history(make_user, make_partner, make_deal_kind, make_deal)


def run(runner, *args):
    return runner.invoke(args=["crm", "report", *args])


def test_funnel_prints_each_stage_then_won_with_conversions(runner, sales):
    # Created in Q1: S1 S2 (won), S3 (lost at 2), S4 (lost at 1), S5 (open at 3), S6 (open
    # at 1), S9 (lost at 2), S10 (lost at 1); S7 (created 2025) and S8 (April) are outside.
    # Lead:     all 8;                 1000+2000+500+300+700+400+600+100 = 5600; 5/8 = 62.5 %
    # Offer:    S1 S2 S3 S5 S9 = 5;    1000+2000+500+700+600 = 4800;             3/5 = 60.0 %
    # Contract: S1 S2 S5 = 3;          1000+2000+700 = 3700;                     2/3 = 66.7 %
    # won:      S1 S2 = 2;             3000; no conversion
    result = run(runner, "funnel", "--kind", "Sales", "--from", "2026-01-01", "--to", "2026-03-31")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "stage,reached,amount,conversion_pct\n"
        "Lead,8,5600.00,62.5\n"
        "Offer,5,4800.00,60.0\n"
        "Contract,3,3700.00,66.7\n"
        "won,2,3000.00,\n"
    )
    # The kind by its id gives the same.
    by_id = run(runner, "funnel", "--kind", str(sales.kind.id), "--from", "2026-01-01",
                "--to", "2026-03-31")  # fmt: skip
    assert by_id.output == result.output


def test_funnel_leaves_the_conversion_empty_after_a_stage_nobody_reached(
    runner, make_partner, make_deal_kind, make_deal
):
    build_unreached_history(make_partner, make_deal_kind, make_deal)
    # Brief: P1 P2 P3 = 3 (600), Design: P3 = 1 (300) → 1/3 = 33.3 %; Build: 0 → 0/1 = 0.0 %;
    # won: 0, and no conversion from Build (nobody reached it) nor on the won row.
    result = run(runner, "funnel", "--kind", "Projects", "--from", "2026-01-01", "--to",
                 "2026-03-31")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output == (
        "stage,reached,amount,conversion_pct\n"
        "Brief,3,600.00,33.3\n"
        "Design,1,300.00,0.0\n"
        "Build,0,0.00,\n"
        "won,0,0.00,\n"
    )


def test_deal_effectiveness_by_manager_email_with_nobody_last(runner, sales):
    # Closed in Q1: anna S1 S2 S7 won (1000+2000+9999 = 12999), S3 lost (500);
    #   boris S4 lost (300); nobody S10 lost (100). S9 closed in April: open at the end.
    # Open on 2026-03-31 (created by then, not closed by then): boris S5; clara S6, S9.
    # Win rate: anna 3/4 = 75.0; boris 0/1 = 0.0; clara none closed: empty; nobody 0/1 = 0.0.
    # Days to close: anna (30 + 50 + 31 + 30) / 4 = 35.25 → 35.3; boris 10; nobody 49.
    result = run(runner, "deal-effectiveness", "--from", "2026-01-01", "--to", "2026-03-31")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "manager,won,lost,open,won_amount,lost_amount,win_rate_pct,mean_days_to_close\n"
        "anna@example.test,3,1,0,12999.00,500.00,75.0,35.3\n"
        "boris@example.test,0,1,1,0.00,300.00,0.0,10.0\n"
        "clara@example.test,0,0,2,0.00,0.00,,\n"
        ",0,1,0,0.00,100.00,0.0,49.0\n"
    )


def test_deal_effectiveness_counts_open_at_the_end_of_a_later_period(runner, sales):
    # April: S9 lost by clara on 04-10 (600, 2026-03-20 → 04-10 = 21 days); open on 04-30:
    # boris S5, S8; clara S6.
    result = run(runner, "deal-effectiveness", "--from", "2026-04-01", "--to", "2026-04-30")
    assert result.output == (
        "manager,won,lost,open,won_amount,lost_amount,win_rate_pct,mean_days_to_close\n"
        "boris@example.test,0,0,2,0.00,0.00,,\n"
        "clara@example.test,0,1,1,0.00,600.00,0.0,21.0\n"
    )


def test_forecast_weighs_open_deals_by_their_probability(runner, forecast_history):
    # Closed by 2026-06-30, all of kind F, mila and p1: 4 won, 2 lost (H5 at S1, H6 at S2).
    # Components (≥ 5 closed deals each, else left out):
    #   stage S2: F deals that reached S2: 4 won + H6 = 5 → 4/5 = 80 %
    #   stage S1: all 6 → 4/6 = 66.67 %; manager mila 66.67 %; partner p1 66.67 %; kind F 66.67 %
    #   partner p2, kind G, no manager: no closed deal → left out
    # F-1 (S2, p1): (80 + 3 × 66.67) / 4 = 70 % → 1000 × 0.70 = 700
    # F-2 (S1, p2): 66.67 % → 300 × 2/3 = 200
    # F-6 (S2, p1, won after the date: open then): 70 % → 2000 × 0.70 = 1400
    # F-3 (G): nothing left → stage default 10 % → 150 × 0.10 = 15
    # F-4 (S2, p1, no expected close): 70 % → 500 × 0.70 = 350
    # July: F-1 F-2 F-6 = 3 deals, 3300, 2300; August: F-3; no date: F-4 (last).
    result = run(runner, "forecast", "--as-of", "2026-06-30")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "month,deals,amount,weighted_amount\n"
        "2026-07,3,3300.00,2300.00\n"
        "2026-08,1,150.00,15.00\n"
        ",1,500.00,350.00\n"
    )


def test_deal_probabilities_list_components_and_leave_out_thin_ones(runner, forecast_history):
    # As in the forecast test: S2 80 %, S1/mila/p1/F 66.7 %; p2, G and nobody left out.
    result = run(runner, "deal-probabilities", "--as-of", "2026-06-30")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "deal_no,stage_pct,manager_pct,partner_pct,kind_pct,probability_pct\n"
        "F-1,80.0,66.7,66.7,66.7,70.0\n"
        "F-2,66.7,66.7,,66.7,66.7\n"
        "F-3,,,,,10.0\n"
        "F-4,80.0,66.7,66.7,66.7,70.0\n"
        "F-6,80.0,66.7,66.7,66.7,70.0\n"
    )


def test_stage_names_that_look_like_formulas_are_escaped(
    runner, make_partner, make_deal_kind, make_deal
):
    kind = make_deal_kind(name="Odd", stages=("=SUM(A1)", "Plain"))
    make_deal(make_partner(), kind, stage=1, amount=10, created_on=date(2026, 1, 2))
    result = run(runner, "funnel", "--kind", "Odd", "--from", "2026-01-01", "--to", "2026-01-31")
    assert result.output.splitlines()[1] == "'=SUM(A1),1,10.00,0.0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["funnel", "--kind", "Nope", "--from", "2026-01-01", "--to", "2026-03-31"], "No deal kind"),
        (["funnel", "--kind", "Sales", "--from", "2026-02-30", "--to", "2026-03-31"],
         "is not a real date"),
        (["funnel", "--kind", "Sales", "--from", "2026-04-01", "--to", "2026-03-31"],
         "starts after it ends"),
        (["funnel", "--kind", "Sales", "--to", "2026-03-31"], "Missing option '--from'"),
        (["deal-effectiveness", "--from", "yesterday", "--to", "2026-03-31"], "is not a date"),
        (["forecast", "--as-of", "31.13.2026"], "is not a real date"),
        (["deal-probabilities", "--as-of", "0001-01-01"], "must be between"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_with_a_message_and_no_traceback(runner, sales, args, message):
    result = run(runner, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_commands_are_registered_once_however_often_the_app_is_set_up(app):
    from crm.cli import report_cli
    from crm.deals import cli

    before = dict(report_cli.commands)
    cli.register()
    assert report_cli.commands == before
    assert {"funnel", "deal-probabilities", "forecast", "deal-effectiveness"} <= set(before)
