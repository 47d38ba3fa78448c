"""The example company several test packages judge posts for: two departments, a brand
with a phrase, an exclusion and its own accounts (one per network the tests read)."""

COMPANY_CONFIG = """
[brand]
terms = ["Acme", "\\"Acme Cloud\\""]
exclude = ["Acme Corporation cartoon"]
own_accounts = ["acme_official", "did:plc:acmeofficial"]
[departments.support]
channel = "C1"
keywords = ["help", "support"]
[departments.billing]
channel = "C2"
keywords = ["refund", "charged", "invoice"]
[routing]
default = "support"
[escalation]
channel = "C9"
[summary]
channel = "C8"
"""
