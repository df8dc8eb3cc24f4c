"""Reading rendered pages in tests."""

import re


def empty_choice(html, name):
    """The label of the empty choice of the dropdown `name` in `html` (None if it has none)."""
    select = re.search(rf'<select\b[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f'no <select name="{name}"> on the page'
    option = re.search(r'<option value=""[^>]*>([^<]*)</option>', select.group(1))
    return option.group(1) if option else None
