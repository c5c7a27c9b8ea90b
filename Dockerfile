# StateCast service, CPU only. Installs the way the README does (lean extra
# set: no teachers, no ASR, no Triton) and serves the voices in /app/voices.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    # One torch thread per inference worker: more threads were several times
    # slower on a busy 2-core machine.
    OMP_NUM_THREADS=1 \
    STATECAST_VOICES=/app/voices

# libsndfile for soundfile (wav/flac/ogg encoding); espeak-ng comes from the
# espeakng-loader wheel, so no system package is needed for it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsndfile1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md THIRD_PARTY.md ./
COPY tts ./tts
COPY kernels ./kernels
COPY server ./server
COPY voices ./voices

# torch is pinned to 2.13.0 in pyproject. Pass PyTorch's CPU wheel index as
# --build-arg PIP_EXTRA_INDEX_URL=... to keep the multi-GB CUDA build out of
# the image.
ARG PIP_EXTRA_INDEX_URL=
RUN pip install -e .

RUN useradd --create-home statecast
USER statecast
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["statecast", "serve", "--host", "0.0.0.0", "--port", "8000"]
