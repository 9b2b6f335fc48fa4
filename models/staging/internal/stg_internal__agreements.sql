with

source as (

    {{ latest_version(source('internal', 'agreements'), ['agreement_id', 'version']) }}

),

renamed as (

    select
        -- ids
        agreement_id,
        cast(version as integer) as agreement_version,
        partner_id,

        -- strings
        attribution_model as payout_attribution_model,
        upper(currency) as currency,
        volume_tiers,

        -- numerics (percentages become rates between 0 and 1)
        cast(revenue_share_pct as decimal(18, 6)) / 100 as revenue_share_rate,
        cast(referral_commission_pct as decimal(18, 6)) / 100 as referral_commission_rate,
        cast(referral_months as integer) as referral_months,
        cast(cost_share_pct as decimal(18, 6)) / 100 as cost_share_rate,
        cast(payout_cap as decimal(18, 4)) as payout_cap,
        cast(lookback_days as integer) as lookback_days,

        -- dates: an agreement version is in force on [effective_from, effective_to)
        effective_from,
        effective_to,
        {{ to_utc('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
