from django.db import models
from django.utils.translation import gettext_lazy as _


class TeamFunction(models.TextChoices):
    LEGAL = "legal", _("Legal")
    SECURITY = "security", _("Security")
    COMPLIANCE = "compliance", _("Compliance")
    CUSTOMER_SUPPORT = "customer_support", _("Customer support")
    BUSINESS = "business", _("Business")
    PRODUCT = "product", _("Product")
    ML = "ml", _("ML")
    PLATFORM = "platform", _("Platform")
    DATA = "data", _("Data")
    QA = "qa", _("QA")
    EXECUTIVE = "executive", _("Executive")


class AreaKind(models.TextChoices):
    MODEL_QUALITY = "model_quality", _("Model/prompt quality")
    INFRASTRUCTURE = "infrastructure", _("Infrastructure and deployment")
    DATA_RETRIEVAL = "data_retrieval", _("Data and retrieval quality")
    USER_EXPERIENCE = "user_experience", _("User experience and fallbacks")
    POLICY = "policy", _("Policy and guardrails")
    CUSTOM = "custom", _("Custom")


# The concerns each standard area owns by default; a quality bar's metric is matched against them.
STANDARD_AREA_CONCERNS: dict[str, list[str]] = {
    AreaKind.MODEL_QUALITY: ["accuracy", "wrong_answers", "hallucination", "prompt_quality"],
    AreaKind.INFRASTRUCTURE: ["availability", "latency", "cost", "deployment"],
    AreaKind.DATA_RETRIEVAL: ["retrieval_quality", "data_freshness", "data_access"],
    AreaKind.USER_EXPERIENCE: ["fallbacks", "user_feedback", "ux"],
    AreaKind.POLICY: ["harmful_content", "guardrails", "policy_violations", "privacy"],
}


class Role(models.TextChoices):
    RESPONSIBLE = "R", _("Responsible")
    ACCOUNTABLE = "A", _("Accountable")
    CONSULTED = "C", _("Consulted")
    INFORMED = "I", _("Informed")


# The function whose people speak for each standard area: its Accountable must serve one of them,
# and a sign-off of that function is routed to the area's Accountable first.
AREA_FUNCTIONS: dict[str, frozenset[str]] = {
    AreaKind.MODEL_QUALITY: frozenset({TeamFunction.ML}),
    AreaKind.INFRASTRUCTURE: frozenset({TeamFunction.PLATFORM}),
    AreaKind.DATA_RETRIEVAL: frozenset({TeamFunction.DATA}),
    AreaKind.USER_EXPERIENCE: frozenset({TeamFunction.PRODUCT}),
    AreaKind.POLICY: frozenset({TeamFunction.LEGAL, TeamFunction.COMPLIANCE, TeamFunction.SECURITY}),
}

# The area whose Accountable speaks for a function, where there is one.
FUNCTION_AREAS: dict[str, str] = {
    function: area for area, functions in AREA_FUNCTIONS.items() for function in sorted(functions)
}
