{#
    SHA-256 (lower-case hex) of the normalised email: trimmed and lower-cased. Partners that share privacy-safely send
    exactly this value, so hashed and raw identifiers meet on the same key.
#}
{% macro hash_email(column) -%}
    {{ return(adapter.dispatch('hash_email', 'partnerlens')(column)) }}
{%- endmacro %}

{% macro default__hash_email(column) -%}
    sha256(lower(trim({{ column }})))
{%- endmacro %}

{% macro postgres__hash_email(column) -%}
    encode(sha256(convert_to(lower(trim({{ column }})), 'UTF8')), 'hex')
{%- endmacro %}

{% macro spark__hash_email(column) -%}
    sha2(lower(trim({{ column }})), 256)
{%- endmacro %}
