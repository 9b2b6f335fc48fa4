{#
    The date payout statuses and period locks are judged against: var payout_as_of_date when set (an ISO date, used
    to replay a past night or to make locks deterministic in tests), otherwise the day the run builds.
#}
{% macro payout_as_of_date() -%}
    {%- set as_of = var('payout_as_of_date', none) -%}
    {%- if as_of is none or (as_of | string | trim) == '' -%}
        current_date
    {%- else -%}
        cast('{{ as_of }}' as date)
    {%- endif -%}
{%- endmacro %}
