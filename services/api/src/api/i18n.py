"""Dashboard strings, French by default, English available (``?lang=en``)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "title": "SEN1 — énergie du quartier",
        "login": "Connexion",
        "email": "Adresse e-mail",
        "password": "Mot de passe",
        "signin": "Se connecter",
        "city_key": "Clé d'accès collectivité",
        "open_city": "Ouvrir le tableau de bord",
        "logout": "Déconnexion",
        "resident": "Mon énergie",
        "city": "Territoire",
        "operator": "Exploitation",
        "daily": "Consommation par jour (30 derniers jours)",
        "curve": "Courbe de charge (hier)",
        "month": "Ce mois-ci",
        "last_month": "Mois dernier",
        "similar": "Foyers similaires",
        "euros": "Coût (€)",
        "co2": "CO2 (kg éq.)",
        "kwh": "kWh",
        "suppressed": "masqué (secret statistique)",
        "no_data": "pas de données",
        "neighbourhoods": "Quartiers",
        "parcels": "Parcelles",
        "load": "Charge en direct",
        "capacity": "capacité",
        "alerts": "Alertes en direct",
        "level": "niveau",
        "value": "Valeur",
        "points": "Points de livraison",
        "bad_login": "Identifiants incorrects",
        "too_many_logins": "Trop de tentatives : réessayez dans quelques minutes",
        "consent": "Autoriser l'accès à mes données Linky",
        "meter": "Compteur",
        "export": "Exporter en CSV",
    },
    "en": {
        "title": "SEN1 — neighbourhood energy",
        "login": "Sign in",
        "email": "E-mail address",
        "password": "Password",
        "signin": "Sign in",
        "city_key": "City access key",
        "open_city": "Open the dashboard",
        "logout": "Sign out",
        "resident": "My energy",
        "city": "Territory",
        "operator": "Operations",
        "daily": "Consumption per day (last 30 days)",
        "curve": "Load curve (yesterday)",
        "month": "This month",
        "last_month": "Last month",
        "similar": "Similar homes",
        "euros": "Cost (€)",
        "co2": "CO2 (kg eq.)",
        "kwh": "kWh",
        "suppressed": "suppressed (statistical secrecy)",
        "no_data": "no data",
        "neighbourhoods": "Neighbourhoods",
        "parcels": "Parcels",
        "load": "Live load",
        "capacity": "capacity",
        "alerts": "Live alerts",
        "level": "level",
        "value": "Value",
        "points": "Delivery points",
        "bad_login": "Wrong credentials",
        "too_many_logins": "Too many attempts: try again in a few minutes",
        "consent": "Allow access to my Linky data",
        "meter": "Meter",
        "export": "Export as CSV",
    },
}


def language(requested: str | None, accept: str, default: str) -> str:
    """``?lang=`` wins, then the browser's first language we have, then the default."""
    if requested in MESSAGES:
        return requested
    for part in accept.split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in MESSAGES:
            return code
    return default if default in MESSAGES else "fr"
