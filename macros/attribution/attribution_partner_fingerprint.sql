{#
    A 64-bit hash of a partner id. The XOR of the fingerprints of a set's distinct members identifies the set
    whatever the order of the members, and is an aggregate every engine computes without sorting:
    bit_xor(distinct {{ attribution_partner_fingerprint('partner_id') }}). Two different sets share a fingerprint with
    probability about n^2 / 2^65 for n sets (under 1e-9 for a million sets).
#}
{% macro attribution_partner_fingerprint(column) -%}
    {{ return(adapter.dispatch('attribution_partner_fingerprint', 'partnerlens')(column)) }}
{%- endmacro %}

{% macro default__attribution_partner_fingerprint(column) -%}
    hash({{ column }})
{%- endmacro %}

{% macro postgres__attribution_partner_fingerprint(column) -%}
    hashtextextended({{ column }}, 0)
{%- endmacro %}

{% macro spark__attribution_partner_fingerprint(column) -%}
    xxhash64({{ column }})
{%- endmacro %}
