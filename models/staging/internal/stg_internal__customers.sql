with

source as (

    {{ latest_version(source('internal', 'customers'), ['customer_id']) }}

),

renamed as (

    select
        -- ids (the raw email is hashed here and goes no further)
        customer_id,
        case when email is not null then {{ hash_email('email') }} end as email_sha256,
        anonymous_id,

        -- strings
        upper(country) as country_code,

        -- booleans
        is_opted_out,

        -- timestamps
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
