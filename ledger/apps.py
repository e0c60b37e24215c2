from django.apps import AppConfig


class LedgerConfig(AppConfig):
    """The tamper-evident ledger every app writes its governance events to. Below every app that
    writes to it; it imports ``readiness`` only."""

    name = "ledger"
    verbose_name = "Tamper-evident ledger"

    def ready(self) -> None:
        # Services of readiness and the apps above write through the port (readiness.recording);
        # installing the chain there, and importing it, connects the receiver that lets services
        # seal the history rows they wrote.
        from readiness.recording import install_recorder

        from . import chain

        install_recorder(chain.append)
