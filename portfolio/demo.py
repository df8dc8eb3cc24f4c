"""Demo portfolio: teams, memberships, the model catalog and about thirty use cases.

Everything is written through the services (actor=None, "system"), so the first run writes the
audit events. The catalog is the curated one that ships with the product
(portfolio/data/model_catalog.json); use cases name its models by provider slug and model key.
Everything is looked up by its natural key first, so a second run writes nothing.
"""

from decimal import Decimal

from django.utils.text import slugify

from aifinops.core.demo import demo_user

from .choices import AutonomyLevel as A
from .choices import BusinessFunction, Environment, MembershipRole, Stage
from .choices import CustomerImpact as C
from .choices import DataClassification as D
from .choices import RiskTier as R
from .models import AIModel, Team, UseCase
from .services import (
    membership_add,
    model_catalog_curated,
    model_catalog_load,
    team_create,
    use_case_register,
)

# The data tables stay hand-aligned so that each entry reads as one row.
# fmt: off
TEAMS = (
    # slug, name, business function, cost center, description
    ("customer-support", "Customer Support", BusinessFunction.CUSTOMER_SUPPORT, "CC-4100",
     "Tier 1 and tier 2 support for every customer, in chat, email and phone."),
    ("sales-engineering", "Sales Engineering", BusinessFunction.SALES, "CC-4200",
     "Revenue team: solution engineers, deal desk and RFPs."),
    ("marketing", "Marketing", BusinessFunction.MARKETING, "CC-4300",
     "Campaigns, content, brand and lifecycle email."),
    ("platform-engineering", "Platform Engineering", BusinessFunction.ENGINEERING, "CC-4400",
     "Runs the AI platform: the model gateway, the self-hosted GPU cluster and developer tooling."),
    ("finance-operations", "Finance Operations", BusinessFunction.FINANCE, "CC-4500",
     "Accounts payable, expenses, close and FinOps."),
    ("product", "Product", BusinessFunction.PRODUCT, "CC-4600",
     "The customer-facing product: in-app assistant, search and reporting."),
)

MEMBERSHIPS = (
    # team slug, username, role
    ("customer-support", "mhernandez", MembershipRole.LEAD),
    ("customer-support", "owner", MembershipRole.MEMBER),
    ("customer-support", "requester", MembershipRole.MEMBER),
    ("sales-engineering", "aokafor", MembershipRole.LEAD),
    ("marketing", "lmartin", MembershipRole.LEAD),
    ("platform-engineering", "jchen", MembershipRole.LEAD),
    ("platform-engineering", "cdubois", MembershipRole.MEMBER),
    ("platform-engineering", "dnguyen", MembershipRole.MEMBER),
    ("platform-engineering", "abaker", MembershipRole.MEMBER),
    ("platform-engineering", "council", MembershipRole.MEMBER),
    ("platform-engineering", "admin", MembershipRole.MEMBER),
    ("finance-operations", "kyamamoto", MembershipRole.LEAD),
    ("finance-operations", "rpatel", MembershipRole.MEMBER),
    ("finance-operations", "sobrien", MembershipRole.MEMBER),
    ("finance-operations", "finance", MembershipRole.MEMBER),
    ("product", "ewilson", MembershipRole.LEAD),
    ("product", "sgupta", MembershipRole.MEMBER),
    ("product", "owner", MembershipRole.MEMBER),
)

# fmt: on

ENVIRONMENT_OF_STAGE = {
    Stage.CONCEPT: Environment.DEVELOPMENT,
    Stage.MVP: Environment.DEVELOPMENT,
    Stage.PILOT: Environment.STAGING,
    Stage.LAUNCH: Environment.PRODUCTION,
    Stage.SCALE: Environment.PRODUCTION,
    Stage.SUNSET: Environment.PRODUCTION,
}


def _uc(
    key,
    name,
    team,
    stage,
    risk,
    autonomy,
    impact,
    data,
    bo,
    to,
    models,
    cost,
    purpose,
    value,
    success,
    *,
    personal=False,
    product="",
    segment="",
    workflow="",
):
    """One demo use case. `models` is ((provider slug, model key, share of spend), ...);
    `value` is (value metric, value per outcome, outcomes per month)."""
    return {
        "key": key,
        "name": name,
        "team": team,
        "stage": stage,
        "risk_tier": risk,
        "autonomy_level": autonomy,
        "customer_impact": impact,
        "data_classification": data,
        "business_owner": bo,
        "technical_owner": to,
        "models": models,
        "expected_monthly_cost": Decimal(cost),
        "purpose": purpose,
        "value_metric": value[0],
        "value_per_outcome": Decimal(value[1]),
        "outcomes_per_month": value[2],
        "success_metric": success,
        "personal_data": personal,
        "product": product,
        "customer_segment": segment,
        "workflow": workflow,
    }


S = Stage
OA, AN, BR, AZ, SH = "openai", "anthropic", "aws-bedrock", "azure-openai", "self-hosted-gpu"
GV, MI = "google-vertex", "mistral"
SONNET, OPUS, HAIKU = "claude-sonnet-4-20250514", "claude-opus-4-20250514", "claude-3-5-haiku-20241022"
BR_SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
EMBED = (OA, "text-embedding-3-small", 0.02)

# fmt: off
USE_CASES = (
    # Customer Support
    _uc("support-reply-drafter", "Support reply drafter", "customer-support", S.SCALE, R.MEDIUM,
        A.HUMAN_IN_THE_LOOP, C.CUSTOMER_FACING, D.CONFIDENTIAL, "mhernandez", "cdubois",
        ((OA, "gpt-4.1-mini", 0.78), (AN, HAIKU, 0.20), EMBED), "38000",
        "Drafts replies to support tickets from the knowledge base and the ticket history; "
        "agents edit and send.", ("Agent minutes saved per ticket", "2.40", 42000),
        "Median handle time down 25 % with CSAT at or above 4.5", personal=True,
        product="Support desk", segment="All customers", workflow="Ticket reply"),
    _uc("ticket-triage-router", "Ticket triage router", "customer-support", S.LAUNCH, R.LOW,
        A.AUTONOMOUS_AGENT, C.INDIRECT, D.CONFIDENTIAL, "owner", "cdubois",
        ((OA, "gpt-4o-mini", 1.0),), "6000",
        "Classifies every new ticket by product, intent and urgency and routes it to a queue.",
        ("Tickets routed without a human touch", "0.35", 60000),
        "95 % of tickets land in the right queue first time", product="Support desk",
        segment="All customers", workflow="Ticket intake"),
    _uc("support-call-summarizer", "Support call summarizer", "customer-support", S.PILOT, R.MEDIUM,
        A.ASSISTIVE, C.NONE, D.RESTRICTED, "owner", "jchen", ((AZ, "gpt-4o", 1.0),), "4500",
        "Summarises recorded support calls into the ticket, with next steps and sentiment.",
        ("After-call work minutes saved", "1.10", 9000), "After-call work under 2 minutes",
        personal=True, product="Support desk", segment="Enterprise", workflow="Phone support"),
    _uc("refund-resolution-agent", "Refund resolution agent", "customer-support", S.MVP, R.CRITICAL,
        A.AUTONOMOUS_AGENT, C.CUSTOMER_FACING, D.RESTRICTED, "mhernandez", "owner",
        ((AN, SONNET, 1.0),), "1500",
        "Decides and issues refunds under 50 USD within policy, end to end, with a full trail.",
        ("Refund cases closed without an agent", "4.00", 3000),
        "Refund errors under 0.5 % of cases, no policy breaches", personal=True,
        product="Billing", segment="SMB", workflow="Refunds"),
    _uc("kb-article-generator", "Knowledge-base article generator", "customer-support", S.SUNSET,
        R.LOW, A.ASSISTIVE, C.INDIRECT, D.INTERNAL, "mhernandez", "cdubois",
        ((OA, "gpt-4o-mini", 1.0),), "1800",
        "Turned solved tickets into draft help-centre articles. Replaced by the reply drafter.",
        ("Articles published", "25.00", 60), "Deflection rate up 5 points"),
    # Sales Engineering
    _uc("rfp-response-assistant", "RFP response assistant", "sales-engineering", S.SCALE, R.MEDIUM,
        A.HUMAN_IN_THE_LOOP, C.INDIRECT, D.CONFIDENTIAL, "aokafor", "jchen",
        ((AN, SONNET, 0.98), EMBED), "9000",
        "Answers RFP and security questionnaires from past answers and product docs.",
        ("Solution-engineer hours saved", "95.00", 160), "RFP turnaround under 3 days",
        segment="Enterprise", workflow="RFP"),
    _uc("sales-call-coach", "Sales call coach", "sales-engineering", S.PILOT, R.HIGH, A.ASSISTIVE,
        C.NONE, D.RESTRICTED, "aokafor", "cdubois", ((BR, BR_SONNET, 1.0),), "3500",
        "Scores recorded discovery calls against the sales method and suggests coaching points.",
        ("Win-rate points gained", "12000.00", 1), "Win rate up 2 points in the pilot cohort",
        personal=True, segment="Mid-market", workflow="Discovery call"),
    _uc("lead-enrichment-agent", "Lead enrichment agent", "sales-engineering", S.LAUNCH, R.HIGH,
        A.SUPERVISED_AGENT, C.NONE, D.CONFIDENTIAL, "aokafor", "sgupta",
        ((OA, "gpt-4.1", 0.6), (OA, "o3", 0.4)), "7000",
        "Researches inbound leads on the web and in the CRM and writes an account brief.",
        ("Qualified leads briefed", "6.50", 2500), "Brief ready within 10 minutes of the lead",
        personal=True, segment="All prospects", workflow="Lead qualification"),
    _uc("deal-desk-quote-checker", "Deal desk quote checker", "sales-engineering", S.CONCEPT,
        R.MEDIUM, A.HUMAN_IN_THE_LOOP, C.NONE, D.CONFIDENTIAL, "aokafor", None,
        ((OA, "gpt-4.1-mini", 1.0),), "800",
        "Checks non-standard quotes against discount policy before deal-desk review.",
        ("Quotes checked", "3.00", 900), "Deal-desk review time halved", workflow="Quoting"),
    # Marketing
    _uc("campaign-copy-generator", "Campaign copy generator", "marketing", S.SCALE, R.LOW, A.ASSISTIVE,
        C.INDIRECT, D.PUBLIC, "lmartin", "sgupta", ((AN, SONNET, 0.6), (OA, "gpt-4.1", 0.4)), "5200",
        "Drafts campaign copy variants in the brand voice for email, ads and landing pages.",
        ("Copy variants shipped", "18.00", 900), "Time from brief to live campaign under 5 days",
        workflow="Campaign production"),
    _uc("seo-content-brief", "SEO content brief writer", "marketing", S.LAUNCH, R.LOW, A.ASSISTIVE,
        C.INDIRECT, D.PUBLIC, "lmartin", "cdubois",
        ((OA, "gpt-4.1-mini", 0.6), (MI, "mistral-medium-latest", 0.4)), "1200",
        "Writes content briefs from search data and competitor pages.",
        ("Briefs written", "40.00", 120), "Organic sessions up 10 % year on year",
        workflow="Content planning"),
    _uc("social-listening-summaries", "Social listening summaries", "marketing", S.SUNSET, R.LOW,
        A.ASSISTIVE, C.NONE, D.PUBLIC, "lmartin", "abaker", ((BR, "amazon.nova-pro-v1:0", 1.0),),
        "2500", "Summarised brand mentions daily. Retired: the vendor tool now does it.",
        ("Daily digests", "30.00", 30), "Digest read by the brand team every day"),
    _uc("personalized-email-agent", "Personalised lifecycle email agent", "marketing", S.MVP, R.HIGH,
        A.AUTONOMOUS_AGENT, C.CUSTOMER_FACING, D.CONFIDENTIAL, "lmartin", "sgupta",
        ((AN, HAIKU, 1.0),), "900",
        "Writes and sends lifecycle emails personalised to each customer's product usage.",
        ("Incremental upgrades", "45.00", 40), "Upgrade rate up 1 point against the control",
        personal=True, product="Lifecycle email", segment="SMB", workflow="Nurture"),
    _uc("brand-voice-checker", "Brand voice checker", "marketing", S.CONCEPT, R.LOW, A.ASSISTIVE,
        C.NONE, D.PUBLIC, None, None, ((OA, "gpt-4o-mini", 1.0),), "150",
        "Flags copy that strays from the brand voice guide before review.",
        ("Review rounds avoided", "20.00", 50), "One review round fewer per asset"),
    # Platform Engineering
    _uc("code-review-assistant", "Code review assistant", "platform-engineering", S.SCALE, R.MEDIUM,
        A.HUMAN_IN_THE_LOOP, C.NONE, D.CONFIDENTIAL, "jchen", "cdubois",
        ((AN, SONNET, 0.7), (AN, OPUS, 0.3)), "14000",
        "Reviews every pull request for bugs, security issues and style, as comments.",
        ("Engineer review hours saved", "85.00", 400), "Review latency under 4 hours",
        workflow="Pull request review"),
    _uc("dev-chat-selfhosted", "Developer chat (self-hosted)", "platform-engineering", S.LAUNCH,
        R.LOW, A.ASSISTIVE, C.NONE, D.INTERNAL, "jchen", "abaker",
        ((SH, "llama-3.1-70b-instruct", 0.85), (SH, "llama-3.1-8b-instruct", 0.15)), "8000",
        "Internal chat on the self-hosted cluster for code and docs that must not leave the network.",
        ("Weekly active engineers", "20.00", 450), "70 % of engineers use it weekly",
        workflow="Developer assistance"),
    _uc("incident-runbook-agent", "Incident runbook agent", "platform-engineering", S.PILOT,
        R.CRITICAL, A.SUPERVISED_AGENT, C.INDIRECT, D.CONFIDENTIAL, "jchen", "abaker",
        ((OA, "o3", 0.5), (OA, "gpt-4.1", 0.5)), "3000",
        "Runs diagnostic runbook steps during incidents and proposes remediations for approval.",
        ("Incident minutes saved", "30.00", 300), "Mean time to resolve down 20 %",
        workflow="Incident response"),
    _uc("log-anomaly-explainer", "Log anomaly explainer", "platform-engineering", S.MVP, R.MEDIUM,
        A.ASSISTIVE, C.NONE, D.INTERNAL, None, "cdubois", ((SH, "llama-3.1-8b-instruct", 1.0),), "400",
        "Explains anomalous log patterns in plain language in the on-call channel.",
        ("Alerts explained", "1.50", 1200), "On-call engineers rate 80 % of explanations useful"),
    _uc("test-generation-agent", "Unit test generator", "platform-engineering", S.CONCEPT, R.LOW,
        A.SUPERVISED_AGENT, C.NONE, D.CONFIDENTIAL, "jchen", "cdubois", ((AN, SONNET, 1.0),), "1200",
        "Writes unit tests for uncovered code and opens pull requests for review.",
        ("Covered lines added", "0.05", 40000), "Coverage of core services above 80 %"),
    _uc("cobol-migration-assistant", "COBOL migration assistant", "platform-engineering", S.SUNSET,
        R.MEDIUM, A.HUMAN_IN_THE_LOOP, C.NONE, D.CONFIDENTIAL, "dnguyen", "abaker",
        ((BR, BR_SONNET, 1.0),), "3000",
        "Translated the billing system's COBOL to Java. The migration is finished.",
        ("Programs migrated", "400.00", 12), "All 140 programs migrated by year end"),
    # Finance Operations
    _uc("invoice-extraction", "Invoice data extraction", "finance-operations", S.SCALE, R.MEDIUM,
        A.SUPERVISED_AGENT, C.NONE, D.CONFIDENTIAL, "kyamamoto", "cdubois",
        ((AZ, "gpt-4o", 0.6), (AZ, "gpt-4o-mini", 0.4)), "6500",
        "Reads supplier invoices, extracts lines and codes them to the ledger for approval.",
        ("Invoices processed touchless", "3.20", 9000), "80 % of invoices posted without a touch",
        workflow="Accounts payable"),
    _uc("expense-policy-checker", "Expense policy checker", "finance-operations", S.LAUNCH, R.MEDIUM,
        A.AUTONOMOUS_AGENT, C.INDIRECT, D.CONFIDENTIAL, "kyamamoto", "sgupta",
        ((OA, "gpt-4.1-mini", 1.0),), "2200",
        "Approves in-policy expense claims and sends the rest to a person with the reason.",
        ("Claims auto-approved", "2.00", 5000), "Claims reimbursed within 3 days",
        personal=True, workflow="Expenses"),
    _uc("contract-clause-reviewer", "Contract clause reviewer", "finance-operations", S.PILOT, R.HIGH,
        A.HUMAN_IN_THE_LOOP, C.NONE, D.RESTRICTED, "sobrien", "dnguyen",
        ((AN, SONNET, 0.6), (AN, OPUS, 0.4)), "4000",
        "Compares supplier contracts with the clause playbook and marks deviations for legal.",
        ("Legal review hours saved", "120.00", 40), "First-pass review under one day",
        workflow="Procurement contracts"),
    _uc("month-end-variance-commentary", "Month-end variance commentary", "finance-operations",
        S.MVP, R.LOW, A.ASSISTIVE, C.NONE, D.RESTRICTED, "rpatel", "cdubois", ((OA, "o3", 1.0),), "600",
        "Drafts the commentary on budget-versus-actual variances for the monthly close pack.",
        ("Analyst hours saved at close", "70.00", 20), "Close pack ready on working day 4",
        workflow="Month-end close"),
    _uc("fraud-signal-scorer", "Payment fraud signal scorer", "finance-operations", S.CONCEPT,
        R.CRITICAL, A.AUTONOMOUS_AGENT, C.CUSTOMER_FACING, D.RESTRICTED, None, None,
        ((OA, "gpt-4.1", 1.0),), "5000",
        "Scores payments for fraud signals in real time and holds the riskiest for review.",
        ("Fraud losses avoided", "150.00", 60), "Fraud losses down 30 % at under 1 % false holds",
        personal=True, product="Payments", segment="All customers", workflow="Checkout"),
    # Product
    _uc("in-app-assistant", "In-app help assistant", "product", S.SCALE, R.HIGH, A.SUPERVISED_AGENT,
        C.CUSTOMER_FACING, D.CONFIDENTIAL, "ewilson", "sgupta",
        ((OA, "gpt-4.1", 0.58), (OA, "gpt-4.1-mini", 0.40), EMBED), "52000",
        "Answers customers' questions inside the product and changes settings on their behalf "
        "after they confirm.", ("Support tickets deflected", "6.00", 11000),
        "Deflection 30 % with a thumbs-up rate above 85 %", personal=True,
        product="Core app", segment="All customers", workflow="In-app help"),
    _uc("semantic-search", "Semantic product search", "product", S.SCALE, R.LOW, A.ASSISTIVE,
        C.CUSTOMER_FACING, D.PUBLIC, "ewilson", "sgupta",
        ((BR, "amazon.titan-embed-text-v2:0", 0.3), (BR, "amazon.nova-pro-v1:0", 0.7)), "7500",
        "Search over docs, templates and the marketplace by meaning, with a generated answer.",
        ("Searches ending in a click", "0.02", 600000), "Zero-result searches under 2 %",
        product="Core app", segment="All customers", workflow="Search"),
    _uc("report-narratives", "Dashboard report narratives", "product", S.LAUNCH, R.MEDIUM,
        A.ASSISTIVE, C.CUSTOMER_FACING, D.CONFIDENTIAL, "owner", "sgupta",
        ((AN, HAIKU, 0.7), (AN, SONNET, 0.3)), "11000",
        "Writes a plain-language narrative above each customer dashboard report.",
        ("Reports with a narrative read", "0.40", 40000), "Report engagement up 15 %",
        product="Analytics", segment="Enterprise", workflow="Reporting"),
    _uc("onboarding-agent", "Customer onboarding agent", "product", S.PILOT, R.HIGH, A.AUTONOMOUS_AGENT,
        C.CUSTOMER_FACING, D.CONFIDENTIAL, "ewilson", "cdubois",
        ((OA, "gpt-4.1", 0.5), (OA, "o3", 0.5)), "5000",
        "Sets up new workspaces (imports, integrations, templates) from a short conversation.",
        ("Workspaces activated in week one", "35.00", 400), "Week-one activation up 10 points",
        personal=True, product="Core app", segment="SMB", workflow="Onboarding"),
    _uc("feature-request-clustering", "Feature request clustering", "product", S.SUNSET, R.LOW,
        A.ASSISTIVE, C.NONE, D.INTERNAL, "sgupta", "sgupta",
        ((OA, "gpt-4o-mini", 0.8), (OA, "text-embedding-3-small", 0.2)), "900",
        "Grouped feature requests from tickets and calls into themes. Replaced by the product "
        "analytics vendor.", ("Themes reviewed", "50.00", 20), "Roadmap themes refreshed monthly"),
    _uc("alt-text-generator", "Image alt-text generator", "product", S.MVP, R.LOW, A.ASSISTIVE,
        C.CUSTOMER_FACING, D.PUBLIC, "ewilson", "sgupta",
        ((OA, "gpt-4o-mini", 0.5), (GV, "gemini-2.5-flash", 0.5)), "300",
        "Suggests alt text for images customers upload, to make their pages accessible.",
        ("Images described", "0.05", 30000), "90 % of suggestions accepted unchanged",
        product="Page builder", segment="All customers", workflow="Content editing"),
)
# fmt: on


SEGMENTS = {"all-customers", "enterprise", "mid-market", "smb", "consumer", "internal"}


def _demo_tags(fields, team):
    """Classification tags that pass the default tag schema (portfolio migration 0002)."""
    tags = {"function": team.business_function, "workflow": fields.get("workflow") or fields["name"]}
    if fields.get("product"):
        tags["product"] = fields["product"]
    segment = slugify(fields.get("customer_segment") or "")
    if segment in SEGMENTS:
        tags["customer-segment"] = segment
    return tags


def seed(*, stdout):
    teams = {}
    created = {"teams": 0, "providers": 0, "models": 0, "use cases": 0}
    for slug, name, function, cost_center, description in TEAMS:
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            team = team_create(
                actor=None,
                name=name,
                slug=slug,
                business_function=function,
                cost_center=cost_center,
                description=description,
            )
            created["teams"] += 1
        teams[slug] = team

    for team_slug, username, role in MEMBERSHIPS:
        membership_add(actor=None, team=teams[team_slug], user=demo_user(username), role=role)

    catalog = model_catalog_load(actor=None, data=model_catalog_curated())
    created["providers"] = catalog["providers_created"]
    created["models"] = catalog["models_created"]
    models = {(m.provider.slug, m.key): m for m in AIModel.objects.select_related("provider")}

    keys = [spec["key"] for spec in USE_CASES]
    existing = set(UseCase.objects.filter(key__in=keys).values_list("key", flat=True))
    owners = {}
    for spec in USE_CASES:
        if spec["key"] in existing:
            continue
        fields = {k: v for k, v in spec.items() if k not in ("team", "stage", "models")}
        for role in ("business_owner", "technical_owner"):
            username = fields[role]
            if username and username not in owners:
                owners[username] = demo_user(username)
            fields[role] = owners.get(username) if username else None
        team = teams[spec["team"]]
        fields["tags"] = _demo_tags(fields, team)
        use_case_register(
            actor=None,
            initial_stage=spec["stage"],
            ai_models=[models[provider, key] for provider, key, _share in spec["models"]],
            team=team,
            cost_center=team.cost_center,
            business_function=team.business_function,
            environment=ENVIRONMENT_OF_STAGE[spec["stage"]],
            **fields,
        )
        created["use cases"] += 1
    stdout.write("  portfolio: " + ", ".join(f"{n} {what} created" for what, n in created.items()))
