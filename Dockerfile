# syntax=docker/dockerfile:1
# One image for web, worker and beat (see docker-compose.yml).

# --- front-end assets: npm packages and the compiled stylesheet --------------------------
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY static ./static
RUN npm run build

# --- the application -----------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS app

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    VAR_DIR=/app/var \
    PATH="/app/.venv/bin:$PATH"

# WeasyPrint's system libraries (Pango, HarfBuzz) and fonts for the PDFs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
        fonts-liberation2 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir "uv>=0.5"

WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .
# Only what settings.STATICFILES_DIRS references from node_modules (keep in step).
COPY --from=assets /app/node_modules/govuk-frontend/dist/govuk ./node_modules/govuk-frontend/dist/govuk
COPY --from=assets /app/node_modules/@ministryofjustice/frontend/moj ./node_modules/@ministryofjustice/frontend/moj
COPY --from=assets /app/node_modules/htmx.org/dist ./node_modules/htmx.org/dist
COPY --from=assets /app/static/build ./static/build

# The key exists only for this build step; the containers need a real SECRET_KEY.
RUN SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput \
    && useradd --system --user-group --uid 10001 --home-dir /app --no-create-home app \
    && mkdir -p /app/var \
    && chown -R app:app /app/var

USER app
EXPOSE 8000
CMD ["bin/web"]
