from django.db import models


class TeamFunction(models.TextChoices):
    LEGAL = "legal", "Legal"
    SECURITY = "security", "Security"
    COMPLIANCE = "compliance", "Compliance"
    CUSTOMER_SUPPORT = "customer_support", "Customer support"
    BUSINESS = "business", "Business"
    PRODUCT = "product", "Product"
    ML = "ml", "ML"
    PLATFORM = "platform", "Platform"
    DATA = "data", "Data"
    QA = "qa", "QA"
    EXECUTIVE = "executive", "Executive"


class AreaKind(models.TextChoices):
    MODEL_QUALITY = "model_quality", "Model/prompt quality"
    INFRASTRUCTURE = "infrastructure", "Infrastructure and deployment"
    DATA_RETRIEVAL = "data_retrieval", "Data and retrieval quality"
    USER_EXPERIENCE = "user_experience", "User experience and fallbacks"
    POLICY = "policy", "Policy and guardrails"
    CUSTOM = "custom", "Custom"


# The concerns each standard area owns by default; a quality bar's metric is matched against them.
STANDARD_AREA_CONCERNS: dict[str, list[str]] = {
    AreaKind.MODEL_QUALITY: ["accuracy", "wrong_answers", "hallucination", "prompt_quality"],
    AreaKind.INFRASTRUCTURE: ["availability", "latency", "cost", "deployment"],
    AreaKind.DATA_RETRIEVAL: ["retrieval_quality", "data_freshness", "data_access"],
    AreaKind.USER_EXPERIENCE: ["fallbacks", "user_feedback", "ux"],
    AreaKind.POLICY: ["harmful_content", "guardrails", "policy_violations", "privacy"],
}


class Role(models.TextChoices):
    RESPONSIBLE = "R", "Responsible"
    ACCOUNTABLE = "A", "Accountable"
    CONSULTED = "C", "Consulted"
    INFORMED = "I", "Informed"


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
