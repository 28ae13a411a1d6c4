"""The baseline: a bare FastAPI hello-world, served by uvicorn like the Orgo API."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "hello"}
