# The MR-CDS image used by docker-compose.yml (web, worker, beat).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1

# WeasyPrint's native libraries (PDF reports).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir uv==0.13.9 \
    && uv pip install --system --no-cache -r pyproject.toml

COPY . .
RUN DEBUG=true python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home /app app \
    && mkdir -p /data/media && chown app /data/media

USER app
EXPOSE 8000
CMD ["gunicorn", "mr_cds.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
