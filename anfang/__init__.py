"""Anfang (安防): residential compound security under 营政发〔2015〕42号."""
