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
        "my_consents": "Mes consentements",
        "withdraw_hint": "Retirer un consentement arrête la collecte de ce compteur "
        "et masque ses données tout de suite. Vous pouvez garder les relevés déjà "
        "collectés (ils ne vous sont plus montrés et ne restent que dans les "
        "totaux anonymes du quartier) ou les supprimer.",
        "since": "Depuis",
        "until": "Jusqu'au",
        "status": "État",
        "st_live": "actif",
        "st_withdrawn": "retiré",
        "st_expired": "expiré",
        "st_pending": "en vérification",
        "st_rejected": "refusé",
        "withdraw_keep": "Retirer (garder les relevés)",
        "withdraw_delete": "Retirer et supprimer les relevés",
        "delete_readings": "Supprimer les relevés",
        "confirm_withdraw": "Retirer ce consentement ? La collecte s'arrête.",
        "confirm_delete": "Supprimer définitivement les relevés de ce compteur ?",
        "withdrawn": "Consentement retiré.",
        "deleted": "relevés supprimés",
        "shared_refused": "Ces relevés sont aussi couverts par le consentement "
        "d'une autre personne : ils n'ont pas été supprimés.",
        "access_log": "Qui a consulté mes données",
        "when": "Quand",
        "who": "Qui",
        "route": "Accès",
        "under_consent": "Consentement",
        "you": "vous",
        "unknown": "compte effacé",
        "my_data": "Mes données",
        "export_all": "Télécharger toutes mes données (zip : JSON et CSV)",
        "erase_hint": "Effacer votre compte supprime votre compte, vos sessions, "
        "vos consentements, le journal des accès à vos données et les relevés des "
        "compteurs dont vous étiez le seul titulaire. Les totaux de quartier déjà "
        "calculés restent, anonymes.",
        "erase": "Effacer mon compte",
        "confirm_erase": "Effacer définitivement votre compte et vos données ?",
        "erased": "Votre compte a été effacé.",
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
        "my_consents": "My consents",
        "withdraw_hint": "Withdrawing a consent stops collecting that meter and "
        "hides its data at once. You may keep the readings already collected (no "
        "longer shown to you, left only in anonymous neighbourhood totals) or "
        "delete them.",
        "since": "Since",
        "until": "Until",
        "status": "State",
        "st_live": "live",
        "st_withdrawn": "withdrawn",
        "st_expired": "expired",
        "st_pending": "being verified",
        "st_rejected": "refused",
        "withdraw_keep": "Withdraw (keep readings)",
        "withdraw_delete": "Withdraw and delete readings",
        "delete_readings": "Delete readings",
        "confirm_withdraw": "Withdraw this consent? Collection stops.",
        "confirm_delete": "Delete this meter's readings for good?",
        "withdrawn": "Consent withdrawn.",
        "deleted": "readings deleted",
        "shared_refused": "These readings are also covered by another person's "
        "consent: they were not deleted.",
        "access_log": "Who accessed my data",
        "when": "When",
        "who": "Who",
        "route": "Access",
        "under_consent": "Consent",
        "you": "you",
        "unknown": "erased account",
        "my_data": "My data",
        "export_all": "Download all my data (zip: JSON and CSV)",
        "erase_hint": "Erasing your account deletes your account, sessions, "
        "consents, the log of accesses to your data and the readings of meters you "
        "alone held. Neighbourhood totals already computed stay, anonymous.",
        "erase": "Erase my account",
        "confirm_erase": "Erase your account and your data for good?",
        "erased": "Your account was erased.",
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
