with

source as (

    {{ latest_version(source('internal', 'campaigns'), ['campaign_id']) }}

),

renamed as (

    select
        -- ids
        campaign_id,

        -- strings
        campaign_name,
        campaign_type,
        upper(currency) as currency,

        -- numerics
        cast(budget as decimal(18, 4)) as budget,

        -- dates
        start_date,
        end_date,
        {{ to_utc('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
