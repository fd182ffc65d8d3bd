"""One way for the tests that kill or race a process to wait for it: poll a condition until it holds or time runs out."""
import time


def wait_until(condition, seconds:float, every:float=0.1) -> bool:
    "Call `condition()` every `every` seconds until it returns something true (returned) or `seconds` pass (False)"
    deadline = time.time() + seconds
    while time.time() < deadline:
        if (got := condition()): return got
        time.sleep(every)
    return False
