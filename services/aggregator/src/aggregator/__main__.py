"""``python -m aggregator worker -l info`` (Faust's CLI; settings from the env)."""

from __future__ import annotations

from aggregator.app import create_app
from aggregator.settings import Settings


def main() -> None:
    """Builds the settings once, then hands over to Faust's command line."""
    app, _ = create_app(Settings())
    app.main()


if __name__ == "__main__":
    main()
