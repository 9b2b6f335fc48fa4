{#
    The payout lines this run books: for every basis (see int_payout_lines_expected) what should be booked minus what
    the ledger already holds for it, as one new line per basis whose difference is not zero.

    Where a line goes (period_month):
    - into the month the basis belongs to (original_period_month) while that month is open, i.e. before its lock
      date (last day of the month + var payout_lock_days) at the run's as-of date (var payout_as_of_date, default
      today);
    - once that month is locked, into the earliest month still open at the as-of date, as an adjustment line
      (is_adjustment = true) of the same line_type (revenue_share, referral_commission, reversal, tier_adjustment,
      cap_adjustment) that names the month it corrects in original_period_month. A locked month is never restated:
      no line is ever added to it, and ledger rows are never updated.
    - Opening: when the ledger is still empty (the first publish), history is booked into the months it belongs to,
      locked or not: nothing had been booked, so nothing is restated. From then on locks apply.

    A basis of an erased customer (its conversion id replaced by erased-<keyed hash>) is left as booked: money
    already booked stays, and a closed period is never restated.

    A basis that is no longer owed (its conversion vanished, or it now falls under another agreement version) is
    reversed by a line of minus what was booked. Restatements of already-booked bases are judged per agreement and
    month: when they add up (in absolute value) to less than var payout_restatement_tolerance (half a cent by
    default) none is booked, so that recomputing the same data produces no noise lines; otherwise every one of them
    is booked, so that what a month pays never drifts from what it owes by more than the tolerance, however many
    bases move by a fraction of a cent (as Markov and Shapley credits do when new journeys arrive).

    Like every mart, this model is built into the run's candidate schema, but it is not published as a view (meta
    partnerlens.publish: false): the publish step appends its rows to `ledger.payout_lines` (meta partnerlens.ledger)
    when, and only when, the candidate passes the gates.
#}

{%- set as_of = payout_as_of_date() %}
{%- set run_id = var('run_id', none) or invocation_id %}

with

expected as (

    select * from {{ ref('int_payout_lines_expected') }}

),

-- lines of an erased customer (partnerlens erase: their conversion ids became erased-<keyed hash>) stay booked as
-- they are; their bases are never recomputed, so never reversed
booked as (

    select * from {{ ref('stg_ledger__payout_lines') }}
    where basis_id not like '%erased-%'

),

ledger_state as (

    select count(*) > 0 as has_history
    from booked

),

booked_latest as (

    select
        booked.*,
        row_number() over (
            partition by booked.basis_id
            order by booked.booked_at desc, booked.payout_line_id desc
        ) as recency_rank
    from booked

),

booked_totals as (

    select
        booked.basis_id,
        sum(booked.amount) as booked_amount
    from booked
    group by booked.basis_id

),

booked_bases as (

    select
        booked_latest.basis_id,
        booked_latest.line_type,
        booked_latest.reversed_line_type,
        booked_latest.partner_id,
        booked_latest.agreement_id,
        booked_latest.agreement_version,
        booked_latest.conversion_id,
        booked_latest.refunded_conversion_id,
        booked_latest.original_period_month,
        booked_latest.basis_date,
        booked_latest.currency,
        booked_latest.exchange_rate,
        booked_latest.attribution_model,
        booked_latest.attribution_lookback_days,
        booked_latest.attribution_half_life_days,
        booked_latest.attribution_position_first_weight,
        booked_latest.attribution_position_last_weight,
        booked_latest.attribution_settings,
        booked_totals.booked_amount
    from booked_latest
    inner join booked_totals
        on booked_latest.basis_id = booked_totals.basis_id
    where booked_latest.recency_rank = 1

),

differences as (

    select
        coalesce(expected.basis_id, booked_bases.basis_id) as basis_id,
        coalesce(expected.line_type, booked_bases.line_type) as line_type,
        coalesce(expected.reversed_line_type, booked_bases.reversed_line_type) as reversed_line_type,
        coalesce(expected.partner_id, booked_bases.partner_id) as partner_id,
        coalesce(expected.agreement_id, booked_bases.agreement_id) as agreement_id,
        coalesce(expected.agreement_version, booked_bases.agreement_version) as agreement_version,
        coalesce(expected.conversion_id, booked_bases.conversion_id) as conversion_id,
        coalesce(expected.refunded_conversion_id, booked_bases.refunded_conversion_id) as refunded_conversion_id,
        coalesce(expected.original_period_month, booked_bases.original_period_month) as original_period_month,
        coalesce(expected.basis_date, booked_bases.basis_date) as basis_date,
        expected.basis_rate,
        expected.basis_amount,
        coalesce(expected.amount, 0) - coalesce(booked_bases.booked_amount, 0) as amount,
        coalesce(expected.currency, booked_bases.currency) as currency,
        coalesce(expected.exchange_rate, booked_bases.exchange_rate) as exchange_rate,
        coalesce(expected.attribution_model, booked_bases.attribution_model) as attribution_model,
        coalesce(expected.attribution_lookback_days, booked_bases.attribution_lookback_days)
            as attribution_lookback_days,
        coalesce(expected.attribution_half_life_days, booked_bases.attribution_half_life_days)
            as attribution_half_life_days,
        coalesce(expected.attribution_position_first_weight, booked_bases.attribution_position_first_weight)
            as attribution_position_first_weight,
        coalesce(expected.attribution_position_last_weight, booked_bases.attribution_position_last_weight)
            as attribution_position_last_weight,
        coalesce(expected.attribution_settings, booked_bases.attribution_settings) as attribution_settings,
        booked_bases.basis_id is null as is_new_basis
    from expected
    full outer join booked_bases
        on expected.basis_id = booked_bases.basis_id

),

restatements_sized as (

    select
        differences.*,
        sum(case when differences.is_new_basis then 0 else abs(differences.amount) end) over (
            partition by differences.agreement_id, differences.original_period_month
        ) as month_restatement
    from differences

),

to_book as (

    select
        {%- for column in ['basis_id', 'line_type', 'reversed_line_type', 'partner_id', 'agreement_id',
            'agreement_version', 'conversion_id', 'refunded_conversion_id', 'original_period_month', 'basis_date',
            'basis_rate', 'basis_amount', 'amount', 'currency', 'exchange_rate', 'attribution_model',
            'attribution_lookback_days', 'attribution_half_life_days', 'attribution_position_first_weight',
            'attribution_position_last_weight', 'attribution_settings', 'is_new_basis'] %}
            restatements_sized.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from restatements_sized
    where (restatements_sized.is_new_basis and restatements_sized.amount <> 0)
        or (
            abs(restatements_sized.amount) >= 0.000001
            and restatements_sized.month_restatement >= {{ var('payout_restatement_tolerance', 0.005) }}
        )

),

calendar as (

    select
        {{ as_of }} as as_of_date,
        {{ month_start(as_of) }} as as_of_month,
        {{ month_start(dbt.dateadd('month', -1, as_of)) }} as previous_month

),

open_period as (

    select
        calendar.as_of_date,
        case
            when calendar.as_of_date < {{ dbt.dateadd(
                'day', var('payout_lock_days'), dbt.last_day('calendar.previous_month', 'month')
            ) }}
                then calendar.previous_month
            else calendar.as_of_month
        end as earliest_open_month
    from calendar

),

placed as (

    select
        to_book.*,
        open_period.as_of_date,
        case
            when ledger_state.has_history
                and open_period.as_of_date >= {{ dbt.dateadd(
                    'day', var('payout_lock_days'), dbt.last_day('to_book.original_period_month', 'month')
                ) }}
                then open_period.earliest_open_month
            else to_book.original_period_month
        end as period_month
    from to_book
    cross join open_period
    cross join ledger_state

),

final as (

    select
        cast({{ dbt.hash("placed.basis_id || '|' || '" ~ run_id ~ "'") }} as varchar) as payout_line_id,
        cast(placed.basis_id as varchar) as basis_id,
        cast(placed.partner_id as varchar) as partner_id,
        cast(placed.agreement_id as varchar) as agreement_id,
        cast(placed.agreement_version as integer) as agreement_version,
        cast(placed.conversion_id as varchar) as conversion_id,
        cast(placed.refunded_conversion_id as varchar) as refunded_conversion_id,
        cast(placed.line_type as varchar) as line_type,
        cast(placed.reversed_line_type as varchar) as reversed_line_type,
        cast(placed.period_month as date) as period_month,
        cast(placed.original_period_month as date) as original_period_month,
        cast(placed.period_month <> placed.original_period_month as boolean) as is_adjustment,
        cast(placed.basis_date as date) as basis_date,
        cast(placed.basis_rate as decimal(18, 6)) as basis_rate,
        cast(placed.basis_amount as decimal(18, 6)) as basis_amount,
        cast(placed.amount as decimal(18, 6)) as amount,
        cast(placed.currency as varchar) as currency,
        cast(placed.exchange_rate as decimal(18, 10)) as exchange_rate,
        {{ decimal_from_double('cast(placed.amount as float8) * cast(placed.exchange_rate as float8)', 18, 6) }}
            as amount_reporting,
        cast('{{ var("reporting_currency") }}' as varchar) as reporting_currency,
        cast(placed.attribution_model as varchar) as attribution_model,
        cast(placed.attribution_lookback_days as integer) as attribution_lookback_days,
        cast(placed.attribution_half_life_days as decimal(9, 3)) as attribution_half_life_days,
        cast(placed.attribution_position_first_weight as decimal(9, 6)) as attribution_position_first_weight,
        cast(placed.attribution_position_last_weight as decimal(9, 6)) as attribution_position_last_weight,
        cast(placed.attribution_settings as varchar) as attribution_settings,
        cast(placed.as_of_date as date) as as_of_date,
        cast('{{ run_id }}' as varchar) as booked_in_run,
        cast({{ to_utc('current_timestamp') }} as timestamp) as booked_at
    from placed

)

select * from final
