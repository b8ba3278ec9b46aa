# The service image: the API and, with `endorser --hospital <id>`, a hospital's endorser node.
#   docker build -t healthevents .      (docker-compose.yml builds it as healthevents:local)
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/ src/
RUN dotnet publish src/Api/Api.csproj -c Release -o /app -nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# Data (keys, demo files) under /data, owned by the image's non-root user so named volumes mounted there are writable.
RUN mkdir -p /data/keys && chown -R "$APP_UID" /data
USER $APP_UID
ENV HEALTHEVENTS_DATA=/data \
    HEALTHEVENTS_URLS=http://0.0.0.0:8080 \
    DOTNET_NOLOGO=1
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["dotnet", "HealthEvents.Api.dll"]
