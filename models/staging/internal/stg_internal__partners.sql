with

source as (

    {{ latest_version(source('internal', 'partners'), ['partner_id']) }}

),

renamed as (

    select
        -- ids
        partner_id,

        -- strings
        partner_name,
        partner_type,
        tier as partner_tier,
        upper(country) as country_code,
        referral_code,

        -- dates
        joined_on,
        {{ to_utc('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
