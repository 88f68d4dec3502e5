"""The OpenAPI schema generator (drf-spectacular's, REST_FRAMEWORK
["DEFAULT_SCHEMA_CLASS"]) with what the serializers cannot say themselves:

- ``additionalProperties: false`` on request objects that refuse unknown fields
  (serializers with ``strict_input = True``);
- ``multipleOf: 0.001`` on numbers with at most 3 decimal places (fields with
  ``decimal_places``), the rule ``input_parse`` applies without rounding.
"""

from decimal import Decimal

from drf_spectacular.openapi import AutoSchema


class ApiSchema(AutoSchema):
    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and getattr(serializer, "strict_input", False):
            schema["additionalProperties"] = False
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        places = getattr(field, "decimal_places", None)
        if direction == "request" and places and schema.get("type") == "number":
            schema["multipleOf"] = float(Decimal(1).scaleb(-places))
        return schema
