from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JSONObjectParser(JSONParser):
    """JSON whose top level is an object, as every request body of this API is.

    Another JSON value (a list, a number, `false`) would otherwise reach the views and forms as
    `request.data`, which they read as a mapping: a 500 instead of a 400 that says what to send.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            raise ParseError('The body must be a JSON object, such as {"note": "…"}.')
        return data
