# Earshot's image: the bot and its pinned dependencies, nothing else. The config file is
# mounted at run time (EARSHOT_CONFIG); secrets come from the environment.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY bot ./bot
COPY config ./config
ENV PYTHONUNBUFFERED=1 PORT=3000
EXPOSE 3000
CMD ["python", "-m", "bot", "serve"]
