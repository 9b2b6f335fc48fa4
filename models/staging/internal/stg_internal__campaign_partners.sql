with

source as (

    {{ latest_version(source('internal', 'campaign_partners'), ['campaign_id', 'partner_id']) }}

),

renamed as (

    select
        -- ids
        campaign_id || ':' || partner_id as campaign_partner_id,
        campaign_id,
        partner_id,

        -- strings
        role as partner_role,

        -- numerics
        cast(cost_share_pct as decimal(18, 6)) / 100 as cost_share_rate,

        -- timestamps
        {{ to_utc('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
