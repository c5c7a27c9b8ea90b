"""Offline evaluation: ASR word error rate, DNSMOS, real-time factor and time
to first audio, for StateCast and the teacher voices side by side
(``statecast eval``)."""
