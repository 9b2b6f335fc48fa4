with

source as (

    select * from {{ source('partner_feeds', 'costs') }}

),

renamed as (

    select
        -- ids
        partner_id || ':' || cost_id as cost_line_id,
        partner_id,
        campaign_id,

        -- strings
        cost_type,
        upper(currency) as currency,
        case when _source = 'internal' then 'host' else 'partner' end as reported_by,

        -- numerics
        cast(amount as decimal(18, 4)) as amount,

        -- dates
        cost_date,
        {{ to_utc('_loaded_at') }} as loaded_at,

        -- lineage
        _load_id as load_id

    from source

)

select * from renamed
