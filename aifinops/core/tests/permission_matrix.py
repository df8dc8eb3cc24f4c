"""THE permission matrix: every URL pattern of the project, and what each persona gets for it.

One row per URL name. `get` is the answer to a GET, one column per persona in `PERSONAS` order:
anonymous (ano), requester of team A (rqA), requester of team B (rqB), use-case owner in team A
(own), council member (cou), council chair (cha), finance analyst (fin), platform admin (adm).

`post`, for URLs that change something, is the answer to a POST from each persona that may not make
it; `-` marks a persona who may (their path is covered by the app's own tests and the browser
journeys, and is not tried here because it would write). A refused POST writes nothing: the test
counts audit rows before and after. `data` is the POST body, when an empty one would be refused
for a missing field before the permission is even asked.

Answers: a status code; `L` a redirect to the login page; `AL` a redirect to the admin's login
page; `302` a redirect anywhere else.

URL kwargs name records of the world the test builds (matrix_world.py), mostly team A's: team B's
requester must get 404 for each of them, as if it did not exist, while finance and admins see them.
URL kwargs not given default to `DEFAULT_KWARGS`. `query` is formatted with the world too.

A URL pattern that is added without a row here fails the test: add its row, with the answer the
product should give, not the one it happens to give.
"""

import datetime
from dataclasses import dataclass, field

PERSONAS = ("anonymous", "requester_a", "requester_b", "owner", "council", "chair", "finance", "admin")

LOGIN = "L"
ADMIN_LOGIN = "AL"
REDIRECT = "302"
ALLOWED = "-"

DEFAULT_KWARGS = {
    "key": "use_case_a",
    "code": "gate_code",
    "team": "team_a",
    "slug": "team_a",
    "year": "year",
    "month": "month",
}


@dataclass(frozen=True)
class Row:
    get: str
    post: str | None = None
    data: dict | None = None
    query: str = ""
    kwargs: dict = field(default_factory=dict)

    def __init__(self, get, post=None, data=None, query="", **kwargs):
        object.__setattr__(self, "get", get)
        object.__setattr__(self, "post", post)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "query", query)
        object.__setattr__(self, "kwargs", kwargs)

    def answers(self, method="get") -> dict:
        """{persona: answer} for a GET, or for a POST (without the personas who may make it)."""
        cells = (self.get if method == "get" else self.post or "").split()
        if len(cells) != len(PERSONAS):
            raise ValueError(f"{method} needs {len(PERSONAS)} answers, one per persona: {cells}")
        return {p: c for p, c in zip(PERSONAS, cells, strict=True) if c != ALLOWED}


# Bodies of POSTs that would pass validation, so that only the permission refuses them. Strings are
# formatted with the world.
UPLOAD = object()  # replaced by a small CSV file
# Dates the forms accept on any day: next year's first quarter.
_NEXT_YEAR = datetime.datetime.now(tz=datetime.UTC).year + 1
MILESTONE = {"use_case": "support-summarizer", "name": "Zeta review", "due_date": f"{_NEXT_YEAR}-01-01"}
SIGNAL = {"use_case": "support-summarizer", "month": "2024-01", "outcomes": 10}
COST_LINE = {"use_case": "support-summarizer", "month": "2024-01", "category": "hosting", "amount": "10"}
PRICE = {
    "kind": "negotiated",
    "tier": "standard",
    "effective_from": f"{_NEXT_YEAR}-01-01",
    "input_price_per_mtok": "1.5",
    "output_price_per_mtok": "6",
    "currency": "USD",
}
OPTIMIZATION = {
    "use_case": "support-summarizer",
    "title": "Zeta routing",
    "lever": "model_routing",
    "expected_monthly_savings": "10",
}
FUNDING = {
    "use_case": "support-summarizer",
    "target_stage": "mvp",
    "amount": "1000",
    "period_start": f"{_NEXT_YEAR}-01-01",
    "period_end": f"{_NEXT_YEAR}-03-31",
    "expected_outcomes": "Zeta MVP",
}
AUTHORIZE = {"use_case": "support-summarizer", "model": "openai/gpt-4.1-mini", "estimated_cost": "0.01"}
USAGE = {
    "events": [
        {
            "request_id": "zeta-1",
            "timestamp": "{now}",
            "use_case": "support-summarizer",
            "model": "openai/gpt-4.1-mini",
            "cost": "0.01",
        }
    ]
}
SUMMARY = "group_by=team&start={month_start}&end={next_month_start}"
FOCUS_MONTH = "month={month_start:%Y-%m}"

# fmt: off
MATRIX = {
    #                                              ano rqA rqB own cou cha fin adm
    # Pages. Anonymous visitors are sent to log in (L).
    "home":                                   Row("L   200 200 200 200 200 200 200"),
    "core:api_token_revoke":                  Row("L   405 405 405 405 405 405 405", pk="token_a",
                                             post="L   -   404 404 404 404 404 404"),
    "core:audit_log":                         Row("L   403 403 403 403 403 200 200"),
    "core:favicon":                           Row("302 302 302 302 302 302 302 302"),
    "core:healthz":                           Row("200 200 200 200 200 200 200 200"),
    "core:login":                             Row("200 302 302 302 302 302 302 302"),
    "core:logout":                            Row("L   405 405 405 405 405 405 405",
                                             post="L   -   -   -   -   -   -   -"),
    "core:notification_list":                 Row("L   200 200 200 200 200 200 200"),
    "core:profile":                           Row("L   200 200 200 200 200 200 200"),
    # An invitation's set-password link: anyone may open it; a spent or bad token says so.
    "core:password_set":                      Row("200 200 200 200 200 200 200 200",
                                             uidb64="invite_uid", token="invite_token"),
    # Administration: platform admins only, pages and writes alike.
    "admin_area:index":                       Row("L   403 403 403 403 403 403 200"),
    "admin_area:person_list":                 Row("L   403 403 403 403 403 403 200"),
    "admin_area:person_invite":               Row("L   403 403 403 403 403 403 200",
                                             post="L   403 403 403 403 403 403 -"),
    "admin_area:person_detail":               Row("L   403 403 403 403 403 403 200", pk="person_b"),
    "admin_area:person_roles":                Row("L   405 405 405 405 405 405 405", pk="person_b",
                                             post="L   403 403 403 403 403 403 -"),
    "admin_area:person_deactivate":           Row("L   405 405 405 405 405 405 405", pk="person_b",
                                             post="L   403 403 403 403 403 403 -"),
    "admin_area:person_reactivate":           Row("L   405 405 405 405 405 405 405", pk="person_b",
                                             post="L   403 403 403 403 403 403 -"),
    "admin_area:role_list":                   Row("L   403 403 403 403 403 403 200"),
    "admin_area:team_list":                   Row("L   403 403 403 403 403 403 200",
                                             post="L   403 403 403 403 403 403 -"),
    "admin_area:team_detail":                 Row("L   403 403 403 403 403 403 200",
                                             post="L   403 403 403 403 403 403 -"),
    "admin_area:member_add":                  Row("L   405 405 405 405 405 405 405",
                                             post="L   403 403 403 403 403 403 -"),
    "admin_area:member_role":                 Row("L   405 405 405 405 405 405 405", pk="membership_a",
                                             post="L   403 403 403 403 403 403 -"),
    "admin_area:member_remove":               Row("L   405 405 405 405 405 405 405", pk="membership_a",
                                             post="L   403 403 403 403 403 403 -"),
    "admin_area:triage_rule_list":            Row("L   403 403 403 403 403 403 200"),
    "admin_area:triage_rule_edit":            Row("L   403 403 403 403 403 403 200", code="triage_rule",
                                             post="L   403 403 403 403 403 403 -"),
    # Portfolio: use cases, gates, value records, tools. Object URLs name team A's records.
    "portfolio:cost_line_delete":             Row("L   405 405 405 405 405 405 405", pk="cost_line_a",
                                             post="L   403 404 -   403 403 403 -"),
    "portfolio:cost_line_record":             Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 403 -"),
    "portfolio:gate_item_attest":             Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 403 -"),
    "portfolio:gate_item_na":                 Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 403 -",
                                             data={"reason": "Zeta: no user data"}),
    "portfolio:gate_item_reopen":             Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 403 -"),
    "portfolio:guardrails_update":            Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 403 -"),
    "portfolio:milestone_create":             Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 403 -"),
    "portfolio:milestone_met":                Row("L   405 405 405 405 405 405 405", pk="milestone_a",
                                             post="L   403 404 -   403 403 403 -"),
    "portfolio:milestone_missed":             Row("L   405 405 405 405 405 405 405", pk="milestone_a",
                                             post="L   403 404 -   403 403 403 -"),
    "portfolio:milestone_update":             Row("L   405 405 405 405 405 405 405", pk="milestone_a",
                                             post="L   403 404 -   403 403 403 -"),
    "portfolio:model_catalog":                Row("L   200 200 200 200 200 200 200"),
    "portfolio:model_detail":                 Row("L   200 200 200 200 200 200 200", pk="model"),
    "portfolio:model_update":                 Row("L   405 405 405 405 405 405 405", pk="model",
                                             post="L   403 403 403 403 403 403 -",
                                             data={"status": "restricted", "tier": "mid"}),
    "portfolio:model_price_add":              Row("L   405 405 405 405 405 405 405", pk="model",
                                             post="L   403 403 403 403 403 403 -", data=PRICE),
    "portfolio:optimization_backlog":         Row("L   200 200 200 200 200 200 200"),
    "portfolio:optimization_create":          Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 403 -"),
    "portfolio:optimization_update":          Row("L   405 405 405 405 405 405 405", pk="optimization_a",
                                             post="L   403 404 -   403 403 403 -"),
    "portfolio:stage_approve":                Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 403 403 -   403 403"),
    "portfolio:stage_move":                   Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 -   403 403",
                                             data={"target_stage": "mvp"}),
    "portfolio:stage_move_request":           Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 403 -"),
    "portfolio:subscription_detail":          Row("L   200 404 200 200 200 200 200", pk="subscription_a",
                                             post="L   403 404 -   403 403 -   -"),
    "portfolio:subscription_list":            Row("L   200 200 200 200 200 200 200",
                                             post="L   403 403 -   403 403 -   -"),
    "portfolio:team_detail":                  Row("L   200 404 200 200 200 200 200"),
    "portfolio:team_list":                    Row("L   200 200 200 200 200 200 200"),
    "portfolio:use_case_detail":              Row("L   200 404 200 200 200 200 200"),
    "portfolio:use_case_tab_agents":          Row("L   200 404 200 200 200 200 200"),
    "portfolio:use_case_tab_backlog":         Row("L   200 404 200 200 200 200 200"),
    "portfolio:use_case_tab_gates":           Row("L   200 404 200 200 200 200 200"),
    "portfolio:use_case_tab_history":         Row("L   200 404 200 200 200 200 200"),
    "portfolio:use_case_tab_spend":           Row("L   200 404 200 200 200 200 200"),
    "portfolio:use_case_tab_value":           Row("L   200 404 200 200 200 200 200"),
    "portfolio:use_case_export":              Row("L   200 200 200 200 200 200 200"),
    "portfolio:use_case_list":                Row("L   200 200 200 200 200 200 200"),
    "portfolio:use_case_metrics":             Row("L   200 404 200 200 200 200 200"),
    "portfolio:value_signal_record":          Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 403 -"),
    # The finance dashboard and the executive overview (cross-team roles only).
    "dashboard:chart_csv":                    Row("L   200 200 200 200 200 200 200", query="chart=trend"),
    "dashboard:index":                        Row("L   200 200 200 200 200 200 200"),
    "dashboard:maturity":                     Row("L   403 403 403 200 200 200 200"),
    "dashboard:narrative":                    Row("L   403 403 403 200 200 200 200"),
    # Search: everyone signed in; the results are what each may open (aifinops/search/tests).
    "search:index":                           Row("L   200 200 200 200 200 200 200", query="q=support"),
    # Intake: intake_a is triaged and needs review; draft_a is requester A's draft.
    "intake:accept":                          Row("L   405 405 405 405 405 405 405", pk="intake_a",
                                             post="L   403 404 403 403 -   403 -"),
    "intake:agent_section":                   Row("L   200 200 200 200 200 200 200"),
    "intake:cost_estimate":                   Row("L   200 200 200 200 200 200 200"),
    "intake:create":                          Row("L   200 200 200 403 403 403 200",
                                             post="L   -   -   -   403 403 403 -"),
    "intake:detail":                          Row("L   200 404 200 200 200 200 200", pk="intake_a"),
    "intake:duplicates":                      Row("L   200 200 200 200 200 200 200"),
    "intake:edit":                            Row("L   200 404 403 403 403 403 200", pk="draft_a",
                                             post="L   -   404 403 403 403 403 -"),
    "intake:index":                           Row("L   200 200 200 200 200 200 200"),
    "intake:reject":                          Row("L   405 405 405 405 405 405 405", pk="intake_a",
                                             post="L   403 404 403 403 -   403 -"),
    "intake:validate_field":                  Row("L   405 405 405 405 405 405 405",
                                             post="L   -   -   -   -   -   -   -"),
    "intake:withdraw":                        Row("L   405 405 405 405 405 405 405", pk="intake_a",
                                             post="L   -   404 403 403 403 403 -"),
    # Showback: spend, imports, chargeback, rules, budgets, gateway controls, margins.
    "showback:agent_approve":                 Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 -   -"),
    "showback:agent_controls_update":         Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 403 -"),
    "showback:agent_kill_switch_off":         Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 -   -"),
    "showback:agent_kill_switch_on":          Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 -   -"),
    "showback:budget_alert_acknowledge":      Row("L   405 405 405 405 405 405 405", pk="alert_a",
                                             post="L   403 404 -   403 403 -   -"),
    "showback:budget_alert_resolve":          Row("L   405 405 405 405 405 405 405", pk="alert_a",
                                             post="L   403 404 -   403 403 -   -"),
    "showback:budget_create":                 Row("L   403 403 403 403 403 200 200",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:budget_detail":                 Row("L   200 404 200 200 200 200 200", pk="budget_a"),
    "showback:budget_edit":                   Row("L   403 403 403 403 403 200 200", pk="budget_a",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:budget_increase_approve":       Row("L   405 405 405 405 405 405 405", pk="increase_a",
                                             post="L   403 404 -   403 403 -   -"),
    "showback:budget_increase_reject":        Row("L   405 405 405 405 405 405 405", pk="increase_a",
                                             post="L   403 404 -   403 403 -   -"),
    "showback:budget_list":                   Row("L   200 200 200 200 200 200 200"),
    "showback:budget_webhook_edit":           Row("L   403 403 403 403 403 200 200", pk="webhook_a",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:budget_webhooks":               Row("L   403 403 403 403 403 200 200",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:chargeback":                    Row("L   200 200 200 200 200 200 200"),
    "showback:chargeback_csv":                Row("L   200 404 200 200 200 200 200"),
    "showback:chargeback_statement":          Row("L   200 404 200 200 200 200 200"),
    "showback:focus_export":                  Row("L   403 403 403 403 403 200 200"),
    "showback:gateway_key_create":            Row("L   405 405 405 405 405 405 405",
                                             post="L   403 404 -   403 403 403 -"),
    "showback:gateway_key_revoke":            Row("L   405 405 405 405 405 405 405", pk="gateway_key_a",
                                             post="L   403 404 -   403 403 403 -"),
    "showback:import_detail":                 Row("L   403 403 403 403 403 200 200", pk="import_batch"),
    "showback:import_list":                   Row("L   403 403 403 403 403 200 200"),
    "showback:import_rejects":                Row("L   403 403 403 403 403 200 200", pk="import_batch"),
    "showback:import_retry":                  Row("L   405 405 405 405 405 405 405", pk="import_batch",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:import_cancel":                 Row("L   405 405 405 405 405 405 405", pk="import_batch",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:import_undo":                   Row("L   405 405 405 405 405 405 405", pk="import_batch",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:commitment_create":             Row("L   403 403 403 403 403 302 302",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:commitment_detail":             Row("L   403 403 403 403 403 200 200", pk="commitment"),
    "showback:commitment_import":             Row("L   403 403 403 403 403 302 302",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:commitment_list":               Row("L   403 403 403 403 403 200 200"),
    # Everyone who sees spend reads the rates its totals use; finance and admins keep them.
    "showback:exchange_rate_list":            Row("L   200 200 200 200 200 200 200"),
    "showback:exchange_rate_upload":          Row("L   403 403 403 403 403 302 302",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:index":                         Row("L   200 200 200 200 200 200 200"),
    "showback:margins":                       Row("L   403 403 403 403 403 200 200"),
    "showback:margins_csv":                   Row("L   403 403 403 403 403 200 200"),
    "showback:reconciliation":                Row("L   403 403 403 403 403 200 200"),
    "showback:reporting_currency_edit":       Row("L   403 403 403 403 403 302 302",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:revenue_upload":                Row("L   403 403 403 403 403 302 302",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:rule_delete":                   Row("L   405 405 405 405 405 405 405", pk="rule",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:rule_edit":                     Row("L   403 403 403 403 403 200 200", pk="rule",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:rule_list":                     Row("L   403 403 403 403 403 200 200",
                                             post="L   403 403 403 403 403 -   -"),
    "showback:unattributed":                  Row("L   403 403 403 403 403 200 200"),
    # Without ?key= the page has no tag to map, and says so.
    "showback:tag_mapping":                   Row("L   403 403 403 403 403 400 400",
                                             post="L   403 403 403 403 403 -   -"),
    # Anomalies and forecasts.
    "analytics:anomaly_acknowledge":          Row("L   405 405 405 405 405 405 405", pk="anomaly_a",
                                             post="L   -   404 -   403 403 -   -"),
    "analytics:anomaly_detail":               Row("L   200 404 200 200 200 200 200", pk="anomaly_a"),
    "analytics:anomaly_explain":              Row("L   405 405 405 405 405 405 405", pk="anomaly_a",
                                             post="L   -   404 -   403 403 -   -"),
    "analytics:anomaly_list":                 Row("L   200 200 200 200 200 200 200"),
    "analytics:anomaly_resolve":              Row("L   405 405 405 405 405 405 405", pk="anomaly_a",
                                             post="L   -   404 -   403 403 -   -"),
    "analytics:assumption_delete":            Row("L   405 405 405 405 405 405 405", pk="assumption_a",
                                             post="L   403 404 -   403 403 -   -"),
    "analytics:forecast_portfolio":           Row("L   200 200 200 200 200 200 200",
                                             post="L   403 403 403 403 403 -   -"),
    "analytics:forecast_use_case":            Row("L   200 404 200 200 200 200 200",
                                             post="L   403 404 -   403 403 -   -"),
    # The council: item_a is on the meeting in session; held_meeting is closed, with a decision.
    "council:agenda_build":                   Row("L   405 405 405 405 405 405 405",
                                             post="L   403 403 403 403 -   403 -"),
    "council:approved_spend_csv":             Row("L   403 403 403 200 200 200 200", pk="held_meeting"),
    "council:decision_record":                Row("L   405 405 405 405 405 405 405", pk="item_a",
                                             post="L   404 404 403 403 -   403 403",
                                             data={"outcome": "approve"}),
    "council:funding_request_create":         Row("L   403 404 200 403 403 403 200",
                                             post="L   403 404 -   403 403 403 -"),
    "council:index":                          Row("L   403 403 403 200 200 200 200"),
    "council:item_detail":                    Row("L   404 404 200 200 200 200 200", pk="item_a"),
    "council:meeting_build":                  Row("L   405 405 405 405 405 405 405", pk="meeting",
                                             post="L   403 403 403 403 -   403 -"),
    "council:meeting_close":                  Row("L   405 405 405 405 405 405 405", pk="meeting",
                                             post="L   403 403 403 403 -   403 403"),
    "council:meeting_detail":                 Row("L   403 403 403 200 200 200 200", pk="meeting"),
    "council:meeting_list":                   Row("L   403 403 403 200 200 200 200"),
    "council:meeting_output":                 Row("L   403 403 403 200 200 200 200", pk="held_meeting"),
    "council:meeting_publish":                Row("L   405 405 405 405 405 405 405", pk="meeting",
                                             post="L   403 403 403 403 -   403 403"),
    "council:meeting_start":                  Row("L   405 405 405 405 405 405 405", pk="meeting",
                                             post="L   403 403 403 403 -   403 403"),
    "council:my_items":                       Row("L   200 200 200 200 200 200 200"),
    "council:use_case_history":               Row("L   200 404 200 200 200 200 200"),
    "council:vote_cast":                      Row("L   405 405 405 405 405 405 405", pk="item_a",
                                             post="L   404 404 403 -   -   403 403",
                                             data={"choice": "approve"}),
    # The API under /api/v1/: anonymous callers get 401.
    "api-me":                                 Row("401 200 200 200 200 200 200 200"),
    "api-search":                             Row("401 200 200 200 200 200 200 200", query="q=support"),
    "api-token-detail":                       Row("401 200 404 404 404 404 404 404", pk="token_a"),
    "api-token-list":                         Row("401 200 200 200 200 200 200 200"),
    "api-team-detail":                        Row("401 200 404 200 200 200 200 200"),
    "api-team-list":                          Row("401 200 200 200 200 200 200 200"),
    "api-use-case-detail":                    Row("401 200 404 200 200 200 200 200"),
    "api-use-case-gates":                     Row("401 200 404 200 200 200 200 200"),
    "api-use-case-list":                      Row("401 200 200 200 200 200 200 200"),
    "api-use-case-sunset":                    Row("401 405 405 405 405 405 405 405",
                                             post="401 403 404 403 403 403 403 -"),
    "api-use-case-to-launch":                 Row("401 405 405 405 405 405 405 405",
                                             post="401 409 404 -   409 -   409 409"),
    "api-use-case-to-mvp":                    Row("401 405 405 405 405 405 405 405",
                                             post="401 403 404 -   403 -   403 403"),
    "api-use-case-to-pilot":                  Row("401 405 405 405 405 405 405 405",
                                             post="401 409 404 -   409 -   409 409"),
    "api-use-case-to-scale":                  Row("401 405 405 405 405 405 405 405",
                                             post="401 409 404 -   409 -   409 409"),
    "api-provider-detail":                    Row("401 200 200 200 200 200 200 200", slug="provider"),
    "api-provider-list":                      Row("401 200 200 200 200 200 200 200"),
    "api-model-detail":                       Row("401 200 200 200 200 200 200 200", pk="model"),
    "api-model-list":                         Row("401 200 200 200 200 200 200 200"),
    "api-model-prices":                       Row("401 200 200 200 200 200 200 200", pk="model",
                                             post="401 403 403 403 403 403 403 -", data=PRICE),
    "api-milestone-detail":                   Row("401 200 404 200 200 200 200 200", pk="milestone_a"),
    "api-milestone-list":                     Row("401 200 200 200 200 200 200 200",
                                             post="401 403 400 -   403 403 403 -",
                                             data=MILESTONE),
    "api-milestone-met":                      Row("401 405 405 405 405 405 405 405", pk="milestone_a",
                                             post="401 403 404 -   403 403 403 -"),
    "api-milestone-missed":                   Row("401 405 405 405 405 405 405 405", pk="milestone_a",
                                             post="401 403 404 -   403 403 403 -"),
    "api-value-signal-detail":                Row("401 200 404 200 200 200 200 200", pk="signal_a"),
    "api-value-signal-list":                  Row("401 200 200 200 200 200 200 200",
                                             post="401 403 400 -   403 403 403 -",
                                             data=SIGNAL),
    "api-cost-line-detail":                   Row("401 200 404 200 200 200 200 200", pk="cost_line_a"),
    "api-cost-line-list":                     Row("401 200 200 200 200 200 200 200",
                                             post="401 403 400 -   403 403 403 -",
                                             data=COST_LINE),
    "api-optimization-detail":                Row("401 200 404 200 200 200 200 200", pk="optimization_a"),
    "api-optimization-list":                  Row("401 200 200 200 200 200 200 200",
                                             post="401 403 400 -   403 403 403 -",
                                             data=OPTIMIZATION),
    "api-subscription-detail":                Row("401 200 404 200 200 200 200 200", pk="subscription_a"),
    "api-subscription-list":                  Row("401 200 200 200 200 200 200 200",
                                             post="401 403 403 -   403 403 -   -"),
    "api-subscription-seat-activity":         Row("401 405 405 405 405 405 405 405", pk="subscription_a",
                                             post="401 403 404 -   403 403 -   -",
                                             data={"file": UPLOAD}),
    "api-intake-accept":                      Row("401 405 405 405 405 405 405 405", pk="intake_a",
                                             post="401 403 404 403 403 -   403 -"),
    "api-intake-detail":                      Row("401 200 404 200 200 200 200 200", pk="intake_a"),
    "api-intake-list":                        Row("401 200 200 200 200 200 200 200",
                                             post="401 -   400 -   403 403 403 -",
                                             data={"name": "Zeta copy", "team": "support"}),
    "api-intake-reject":                      Row("401 405 405 405 405 405 405 405", pk="intake_a",
                                             post="401 403 404 403 403 -   403 -"),
    "api-intake-submit":                      Row("401 405 405 405 405 405 405 405", pk="intake_a",
                                             post="401 -   404 403 403 403 403 -"),
    "api-intake-withdraw":                    Row("401 405 405 405 405 405 405 405", pk="intake_a",
                                             post="401 -   404 403 403 403 403 -"),
    "api-spend-chargeback":                   Row("401 200 404 200 200 200 200 200"),
    "api-spend-focus-export":                 Row("401 403 403 403 403 403 200 200", query=FOCUS_MONTH),
    "api-spend-import-detail":                Row("401 403 403 403 403 403 200 200", pk="import_batch"),
    "api-spend-import-retry":                 Row("401 405 405 405 405 405 405 405", pk="import_batch",
                                             post="401 403 403 403 403 403 -   -"),
    "api-spend-import-cancel":                Row("401 405 405 405 405 405 405 405", pk="import_batch",
                                             post="401 403 403 403 403 403 -   -"),
    "api-spend-import-undo":                  Row("401 405 405 405 405 405 405 405", pk="import_batch",
                                             post="401 403 403 403 403 403 -   -"),
    "api-spend-import-list":                  Row("401 403 403 403 403 403 200 200",
                                             post="401 403 403 403 403 403 -   -",
                                             data={"file": UPLOAD}),
    "api-spend-reconciliation":               Row("401 403 403 403 403 403 200 200"),
    "api-spend-summary":                      Row("401 200 200 200 200 200 200 200", query=SUMMARY),
    "api-daily-spend-list":                   Row("401 200 200 200 200 200 200 200"),
    "api-exchange-rates":                     Row("401 200 200 200 200 200 200 200",
                                             post="401 403 403 403 403 403 -   -"),
    # Administration's API: platform admins only, asked before the body is read.
    "api-admin-person-list":                  Row("401 403 403 403 403 403 403 200",
                                             post="401 403 403 403 403 403 403 -"),
    "api-admin-person-detail":                Row("401 403 403 403 403 403 403 200", pk="person_b"),
    "api-admin-person-roles":                 Row("401 403 403 403 403 403 403 405", pk="person_b",
                                             post="401 403 403 403 403 403 403 -"),
    "api-admin-person-deactivate":            Row("401 403 403 403 403 403 403 405", pk="person_b",
                                             post="401 403 403 403 403 403 403 -"),
    "api-admin-person-reactivate":            Row("401 403 403 403 403 403 403 405", pk="person_b",
                                             post="401 403 403 403 403 403 403 -"),
    "api-admin-role-list":                    Row("401 403 403 403 403 403 403 200"),
    "api-admin-team-list":                    Row("401 403 403 403 403 403 403 200",
                                             post="401 403 403 403 403 403 403 -"),
    "api-admin-team-detail":                  Row("401 403 403 403 403 403 403 200"),
    "api-admin-member-list":                  Row("401 403 403 403 403 403 403 200",
                                             post="401 403 403 403 403 403 403 -"),
    "api-admin-member-detail":                Row("401 403 403 403 403 403 403 200", pk="membership_a"),
    "api-admin-triage-rule-list":             Row("401 403 403 403 403 403 403 200"),
    "api-admin-triage-rule-preview":          Row("401 403 403 403 403 403 403 405", code="triage_rule",
                                             post="401 403 403 403 403 403 403 -"),
    "api-admin-triage-rule-apply":            Row("401 403 403 403 403 403 403 405", code="triage_rule",
                                             post="401 403 403 403 403 403 403 -"),
    # Commitments: finance analysts and platform admins, as on the pages.
    "api-commitment-list":                    Row("401 403 403 403 403 403 200 200",
                                             post="401 403 403 403 403 403 -   -"),
    "api-commitment-detail":                  Row("401 403 403 403 403 403 200 200", pk="commitment"),
    "api-commitment-import":                  Row("401 405 405 405 405 405 405 405",
                                             post="401 403 403 403 403 403 -   -",
                                             data={"file": UPLOAD}),
    "api-margins":                            Row("401 403 403 403 403 403 200 200"),
    "api-customer-revenue":                   Row("401 403 403 403 403 403 200 200",
                                             post="401 403 403 403 403 403 -   -"),
    "api-authorize":                          Row("401 405 405 405 405 405 405 405",
                                             post="401 403 404 -   403 403 403 -",
                                             data=AUTHORIZE),
    "api-usage-events":                       Row("401 405 405 405 405 405 405 405",
                                             post="401 403 422 -   403 403 -   -",
                                             data=USAGE),
    # OTLP exporters send a gateway key or a personal token; a session is no credential here.
    "api-otlp-traces":                        Row("401 401 401 401 401 401 401 401",
                                             post="401 401 401 401 401 401 401 401"),
    "api-budget-alert-acknowledge":           Row("401 405 405 405 405 405 405 405", pk="alert_a",
                                             post="401 403 404 -   403 403 -   -"),
    "api-budget-alert-detail":                Row("401 200 404 200 200 200 200 200", pk="alert_a"),
    "api-budget-alert-list":                  Row("401 200 200 200 200 200 200 200"),
    "api-budget-alert-resolve":               Row("401 405 405 405 405 405 405 405", pk="alert_a",
                                             post="401 403 404 -   403 403 -   -"),
    "api-budget-capped":                      Row("401 200 200 200 200 200 200 200"),
    "api-budget-detail":                      Row("401 200 404 200 200 200 200 200", pk="budget_a"),
    "api-budget-increase-approve":            Row("401 405 405 405 405 405 405 405", pk="increase_a",
                                             post="401 403 404 -   403 403 -   -"),
    "api-budget-increase-detail":             Row("401 200 404 200 200 200 200 200", pk="increase_a"),
    "api-budget-increase-list":               Row("401 200 200 200 200 200 200 200"),
    "api-budget-increase-reject":             Row("401 405 405 405 405 405 405 405", pk="increase_a",
                                             post="401 403 404 -   403 403 -   -"),
    "api-budget-list":                        Row("401 200 200 200 200 200 200 200",
                                             post="401 403 403 403 403 403 -   -"),
    "api-webhook-delivery-list":              Row("401 403 403 403 403 403 200 200"),
    "api-forecast-portfolio":                 Row("401 200 200 200 200 200 200 200"),
    "api-forecast-use-case":                  Row("401 200 404 200 200 200 200 200"),
    "api-anomaly-acknowledge":                Row("401 405 405 405 405 405 405 405", pk="anomaly_a",
                                             post="401 -   404 -   403 403 -   -"),
    "api-anomaly-detail":                     Row("401 200 404 200 200 200 200 200", pk="anomaly_a"),
    "api-anomaly-explain":                    Row("401 405 405 405 405 405 405 405", pk="anomaly_a",
                                             post="401 -   404 -   403 403 -   -"),
    "api-anomaly-list":                       Row("401 200 200 200 200 200 200 200"),
    "api-anomaly-resolve":                    Row("401 405 405 405 405 405 405 405", pk="anomaly_a",
                                             post="401 -   404 -   403 403 -   -"),
    "api-council-agenda-item-decision":       Row("401 405 405 405 405 405 405 405", pk="item_a",
                                             post="401 404 404 403 403 -   403 403",
                                             data={"outcome": "approve"}),
    "api-council-agenda-item-detail":         Row("401 404 404 200 200 200 200 200", pk="item_a"),
    "api-council-agenda-item-list":           Row("401 200 200 200 200 200 200 200"),
    "api-council-agenda-item-votes":          Row("401 405 405 405 405 405 405 405", pk="item_a",
                                             post="401 404 404 403 -   -   403 403",
                                             data={"choice": "approve"}),
    "api-council-decision-detail":            Row("401 200 404 200 200 200 200 200", pk="decision"),
    "api-council-decision-list":              Row("401 200 200 200 200 200 200 200"),
    "api-council-detail":                     Row("401 403 403 403 200 200 200 200", pk="council"),
    "api-council-funding-request-detail":     Row("401 200 404 200 200 200 200 200", pk="funding_a"),
    "api-council-funding-request-list":       Row("401 200 200 200 200 200 200 200",
                                             post="401 403 400 -   403 403 403 -",
                                             data=FUNDING),
    "api-council-list":                       Row("401 403 403 403 200 200 200 200"),
    "api-council-meeting-approved-spend":     Row("401 403 403 403 200 200 200 200", pk="held_meeting"),
    "api-council-meeting-approved-spend-csv": Row("401 403 403 403 200 200 200 200", pk="held_meeting"),
    "api-council-meeting-build-agenda":       Row("401 403 403 403 405 405 405 405", pk="meeting",
                                             post="401 403 403 403 403 -   403 -"),
    "api-council-meeting-build-next-agenda":  Row("401 403 403 403 405 405 405 405",
                                             post="401 403 403 403 403 -   403 -"),
    "api-council-meeting-close":              Row("401 403 403 403 405 405 405 405", pk="meeting",
                                             post="401 403 403 403 403 -   403 403"),
    "api-council-meeting-detail":             Row("401 403 403 403 200 200 200 200", pk="meeting"),
    "api-council-meeting-list":               Row("401 403 403 403 200 200 200 200"),
    "api-council-meeting-publish":            Row("401 403 403 403 405 405 405 405", pk="meeting",
                                             post="401 403 403 403 403 -   403 403"),
    "api-council-meeting-start":              Row("401 403 403 403 405 405 405 405", pk="meeting",
                                             post="401 403 403 403 403 -   403 403"),
    # The OpenAPI schema is API (401); its docs page is a page (L).
    "api-schema":                             Row("401 200 200 200 200 200 200 200"),
    "api-docs":                               Row("L   200 200 200 200 200 200 200"),
}
# fmt: on

# The Django admin: platform admins only; everyone else is sent to its login page. Its site pages
# are rows like the others; each registered model's pages follow ADMIN_MODEL_PAGES (with the
# exceptions in ADMIN_EXCEPTIONS), and a model registered without being listed here fails the test.
# fmt: off
MATRIX |= {
    "admin:index":                            Row("AL  AL  AL  AL  AL  AL  AL  200"),
    "admin:login":                            Row("200 200 200 200 200 200 200 302"),
    "admin:logout":                           Row("AL  302 302 302 302 302 302 405",
                                             post="AL  -   -   -   -   -   -   -"),
    "admin:password_change":                  Row("AL  AL  AL  AL  AL  AL  AL  200"),
    "admin:password_change_done":             Row("AL  AL  AL  AL  AL  AL  AL  200"),
    "admin:autocomplete":                     Row("AL  AL  AL  AL  AL  AL  AL  403"),
    "admin:jsi18n":                           Row("AL  AL  AL  AL  AL  AL  AL  200"),
    "admin:view_on_site":                     Row("AL  AL  AL  AL  AL  AL  AL  302",
                                              content_type_id="use_case_type",
                                              object_id="pk_of:portfolio.usecase"),
    "admin:app_list":                         Row("AL  AL  AL  AL  AL  AL  AL  200", app_label="app_label"),
    "admin:auth_user_password_change":        Row("L   AL  AL  AL  AL  AL  AL  200", id="pk_of:auth.user"),
}

# What an admin model's pages answer. Records that only the product's services write (audit rows,
# spend, intakes, council records) have no add or delete page, even for admins: 403.
_EDITABLE = {
    "changelist":                             Row("L   AL  AL  AL  AL  AL  AL  200"),
    "add":                                    Row("L   AL  AL  AL  AL  AL  AL  200"),
    "change":                                 Row("L   AL  AL  AL  AL  AL  AL  200"),
    "history":                                Row("L   AL  AL  AL  AL  AL  AL  200"),
    "delete":                                 Row("L   AL  AL  AL  AL  AL  AL  200"),
    # The object's bare URL redirects to its change page.
    "":                                       Row("L   AL  AL  AL  AL  AL  AL  302"),
}
_SERVICE_RECORD = _EDITABLE | {
    "add":                                    Row("L   AL  AL  AL  AL  AL  AL  403"),
    "delete":                                 Row("L   AL  AL  AL  AL  AL  AL  403"),
}
# Exchange rates are corrected, never deleted: the hard caps' conversions cite them.
_NO_DELETE = _EDITABLE | {
    "delete":                                 Row("L   AL  AL  AL  AL  AL  AL  403"),
}
_LOG = _EDITABLE | {
    "add":                                    Row("L   AL  AL  AL  AL  AL  AL  403"),
}
# fmt: on

ADMIN_MODELS = {
    "auth.group": _EDITABLE,
    "auth.user": _EDITABLE,
    "axes.accessattempt": _LOG,
    "axes.accesslog": _LOG,
    "axes.accessfailurelog": _LOG,
    "core.auditevent": _SERVICE_RECORD,
    "core.apitoken": _SERVICE_RECORD,
    "portfolio.team": _EDITABLE,
    "portfolio.provider": _EDITABLE,
    "portfolio.aimodel": _EDITABLE,
    "portfolio.usecase": _EDITABLE,
    "portfolio.tagkey": _EDITABLE,
    "intake.triagerule": _SERVICE_RECORD,
    "intake.intakerequest": _SERVICE_RECORD,
    "showback.spendrecord": _SERVICE_RECORD,
    "showback.dailyspend": _SERVICE_RECORD,
    # Rates are entered by hand (saved through the audited service) and never deleted.
    "showback.exchangerate": _NO_DELETE,
    "council.council": _EDITABLE,
    "council.meeting": _SERVICE_RECORD,
    "council.agendaitem": _SERVICE_RECORD,
    "council.fundingrequest": _SERVICE_RECORD,
    "council.vote": _SERVICE_RECORD,
    "council.decision": _SERVICE_RECORD,
    "council.reviewthresholds": _EDITABLE,
}


def admin_model_rows():
    """{URL name: Row} of every listed model's admin pages; the bare object URL, which Django leaves
    unnamed, is keyed `admin:<app>_<model>_`."""
    rows = {}
    for label, pages in ADMIN_MODELS.items():
        app, model = label.split(".")
        for page, row in pages.items():
            kwargs = {} if page in ("changelist", "add") else {"object_id": f"pk_of:{label}"}
            rows[f"admin:{app}_{model}_{page}"] = Row(row.get, **kwargs)
    return rows


def full_matrix():
    return MATRIX | admin_model_rows()
