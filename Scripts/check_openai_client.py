"""Drives a running `gpt serve` with the official `openai` Python client, as a user's code would:
completions and chat, whole and streamed, n, stop, logprobs, echo, and an error. Prints one line per
check; exits 1 naming the first check that failed.

usage: check_openai_client.py BASE_URL      (e.g. http://127.0.0.1:8080/v1)
"""
import sys

import openai

base_url = sys.argv[1]
client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=60)


def check(name, condition, detail=""):
    if not condition:
        print(f"FAILED {name} {detail}", file=sys.stderr)
        sys.exit(1)
    print(f"ok {name}")


models = client.models.list()
check("models.list", len(models.data) == 1, models)
model = models.data[0].id

# Completions: n choices with their own seeds, usage, and streaming giving the same text.
whole = client.completions.create(model=model, prompt="the cat", max_tokens=12, n=2, seed=7, temperature=0.9)
check("completions n=2", [c.index for c in whole.choices] == [0, 1], whole)
check("completions usage", whole.usage.prompt_tokens == 7 and whole.usage.completion_tokens == 24, whole.usage)
pieces = {0: "", 1: ""}
usage = None
for chunk in client.completions.create(
    model=model, prompt="the cat", max_tokens=12, n=2, seed=7, temperature=0.9, stream=True,
    stream_options={"include_usage": True},
):
    for choice in chunk.choices:
        pieces[choice.index] += choice.text
    usage = chunk.usage or usage
check("completions stream == whole", [pieces[0], pieces[1]] == [c.text for c in whole.choices], (pieces, whole))
check("completions stream usage", usage is not None and usage.completion_tokens == 24, usage)

# Stop sequences are never part of the text.
long = client.completions.create(model=model, prompt="a", max_tokens=40, seed=3, temperature=1.0)
stop = long.choices[0].text[5:7] if len(long.choices[0].text) > 7 else "e"
stopped = client.completions.create(model=model, prompt="a", max_tokens=40, seed=3, temperature=1.0, stop=[stop])
check("stop", stop not in stopped.choices[0].text and stopped.choices[0].finish_reason == "stop", (stop, stopped))

# Legacy logprobs, and echo scoring the prompt (what evaluation harnesses send).
scored = client.completions.create(model=model, prompt="abc", max_tokens=4, logprobs=2, seed=1)
lp = scored.choices[0].logprobs
check("logprobs", len(lp.tokens) == 4 and len(lp.token_logprobs) == 4 and all(len(t) <= 2 for t in lp.top_logprobs), lp)
echo = client.completions.create(model=model, prompt="a b c", max_tokens=0, echo=True, logprobs=0)
lp = echo.choices[0].logprobs
check("echo", echo.choices[0].text == "a b c" and lp.token_logprobs[0] is None and len(lp.tokens) == 5, echo)

# Chat, whole and streamed, with chat-shaped logprobs.
messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
chat = client.chat.completions.create(
    model=model, messages=messages, max_tokens=10, seed=4, temperature=0.8, logprobs=True, top_logprobs=2)
message = chat.choices[0].message
check("chat", message.role == "assistant" and chat.usage.completion_tokens == len(chat.choices[0].logprobs.content), chat)
check("chat top_logprobs", all(len(entry.top_logprobs) == 2 for entry in chat.choices[0].logprobs.content), chat)
text, role, finish = "", None, None
for chunk in client.chat.completions.create(model=model, messages=messages, max_tokens=10, seed=4, temperature=0.8, stream=True):
    if chunk.choices:
        delta = chunk.choices[0].delta
        role = role or delta.role
        text += delta.content or ""
        finish = chunk.choices[0].finish_reason or finish
check("chat stream == whole", text == message.content and role == "assistant" and finish is not None, (text, message))

# A bad value is a 400 the client raises as BadRequestError, naming the field.
try:
    client.completions.create(model=model, prompt="a", temperature=5)
    check("bad request raises", False)
except openai.BadRequestError as error:
    check("bad request names the field", error.body.get("param") == "temperature", error.body)
