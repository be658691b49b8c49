"""Opens a running `gpt serve`'s playground in headless Chromium (Playwright driving Debian's chromium
over the DevTools protocol, offline), as a user would: types a prompt, sees its token boundaries, the
next-token bars, attention and the embedding map, moves the temperature slider and sees the bars
change, generates and sees streamed text arrive — with no console errors. Prints one line per check;
exits 1 naming the first that failed.

usage: check_playground.py BASE_URL PROMPT [SCREENSHOT.png]
"""
import sys

from playwright.sync_api import sync_playwright

base_url, prompt = sys.argv[1], sys.argv[2]
screenshot = sys.argv[3] if len(sys.argv) > 3 else None
CHROMIUM = next(path for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] if __import__("os").path.exists(path))


def check(name, condition, detail=""):
    if not condition:
        print(f"FAILED {name} {detail}", file=sys.stderr)
        sys.exit(1)
    print(f"ok {name}")


with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"{request.url}: {request.failure}"))

    page.goto(base_url + "/")
    page.wait_for_function("document.getElementById('model').textContent.indexOf('parameters') > 0", timeout=20000)
    check("model shown", "context" in page.inner_text("#model"))

    page.click("#prompt")
    page.keyboard.type(prompt, delay=15)
    tokens = len(page.evaluate("fetch('/tokenize', {method: 'POST', body: JSON.stringify({content: %r})})"
                               ".then(r => r.json()).then(j => j.tokens)" % prompt))
    page.wait_for_function(f"document.querySelectorAll('#tokens span').length === {tokens}", timeout=20000)
    check("token boundaries", page.inner_text("#count") == f"{tokens} tokens")

    page.wait_for_function("document.querySelectorAll('#bars g.bar').length >= 5", timeout=20000)
    bars = lambda: page.eval_on_selector_all("#bars g.bar rect", "rs => rs.map(r => r.getAttribute('width'))")
    percentages = lambda: page.eval_on_selector_all("#bars g.bar text:last-child", "ts => ts.map(t => t.textContent)")
    before, labels_before = bars(), percentages()
    page.eval_on_selector("#temperature", "e => { e.value = '2'; e.dispatchEvent(new Event('input')); }")
    page.wait_for_function("document.getElementById('nextnote').textContent.indexOf('temperature 2') === 0", timeout=5000)
    check("temperature changes the bars", percentages() != labels_before, (labels_before, percentages()))
    page.eval_on_selector("#temperature", "e => { e.value = '0.8'; e.dispatchEvent(new Event('input')); }")

    page.wait_for_function(f"document.querySelectorAll('#attention rect.cell').length === {tokens * tokens}", timeout=20000)
    check("attention heatmap", page.eval_on_selector_all("#layer option", "o => o.length") >= 2)
    page.select_option("#layer", "1")
    page.wait_for_timeout(500)
    check("attention redrawn for another layer", page.eval_on_selector_all("#attention rect.cell", "c => c.length") == tokens * tokens)
    page.wait_for_function("document.querySelectorAll('#map g.point').length >= 1", timeout=20000)
    check("embedding map", page.eval_on_selector_all("#map circle", "c => c.length") > 10)

    page.click("#generate")
    page.wait_for_function("document.getElementById('stop').disabled === false || "
                           "document.getElementById('output').textContent.length > 0", timeout=20000)
    page.wait_for_function("document.getElementById('generate').disabled === false", timeout=60000)
    output = page.inner_text("#output")
    check("streamed text arrived", output.startswith(prompt) and len(output) > len(prompt), repr(output))
    check("no error shown", page.inner_text("#status") == "", page.inner_text("#status"))
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    check("no console errors", not problems, problems)
    browser.close()
