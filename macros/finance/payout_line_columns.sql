{#
    The columns of a payout ledger line, in order, with their types: (name, type) pairs. The proposed lines of a run
    (fct_payout_lines_proposed) are cast to exactly these, the ledger table `ledger.payout_lines` is created from them
    on the first publish, and stg_ledger__payout_lines reads the ledger (or an empty typed relation before the first
    publish) through the same list, so the three can never drift apart.
#}
{% macro payout_line_columns() -%}
    {{ return([
        ('payout_line_id', 'varchar'),
        ('basis_id', 'varchar'),
        ('partner_id', 'varchar'),
        ('agreement_id', 'varchar'),
        ('agreement_version', 'integer'),
        ('conversion_id', 'varchar'),
        ('refunded_conversion_id', 'varchar'),
        ('line_type', 'varchar'),
        ('reversed_line_type', 'varchar'),
        ('period_month', 'date'),
        ('original_period_month', 'date'),
        ('is_adjustment', 'boolean'),
        ('basis_date', 'date'),
        ('basis_rate', 'decimal(18,6)'),
        ('basis_amount', 'decimal(18,6)'),
        ('amount', 'decimal(18,6)'),
        ('currency', 'varchar'),
        ('exchange_rate', 'decimal(18,10)'),
        ('amount_reporting', 'decimal(18,6)'),
        ('reporting_currency', 'varchar'),
        ('attribution_model', 'varchar'),
        ('attribution_lookback_days', 'integer'),
        ('attribution_half_life_days', 'decimal(9,3)'),
        ('attribution_position_first_weight', 'decimal(9,6)'),
        ('attribution_position_last_weight', 'decimal(9,6)'),
        ('attribution_settings', 'varchar'),
        ('as_of_date', 'date'),
        ('booked_in_run', 'varchar'),
        ('booked_at', 'timestamp'),
    ]) }}
{%- endmacro %}
