# The authio binary in a small runtime image, run as a non-root user.
#   docker build -t authio .
#   docker run -p 8080:8080 authio          # embedded SQLite under /var/lib/authio
# compose.yaml runs it with PostgreSQL and NATS (the production shape).
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# TLS is rustls on aws-lc-rs, which builds with the image's C compiler (no OpenSSL).
RUN cargo build --release --locked -p authio-api --bin authio

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/authio --create-home authio
COPY --from=build /src/target/release/authio /usr/local/bin/authio
USER authio
WORKDIR /var/lib/authio
# Inside a container the server must listen on every interface; the default SQLite file
# lives in the user's home (a volume in production, or use PostgreSQL). The issuer is the
# URL clients reach the server at (tokens' `iss`, discovery): without it, it would be
# derived from the listening address (`http://0.0.0.0:8080`); set it to the public URL.
ENV AUTHIO_ADDR=0.0.0.0:8080 \
    AUTHIO_ISSUER=http://localhost:8080 \
    DATABASE_URL=sqlite:///var/lib/authio/authio.db \
    AUTHIO_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["authio"]
CMD ["serve"]
