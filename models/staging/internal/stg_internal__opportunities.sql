with

source as (

    {{ latest_version(source('internal', 'opportunities'), ['opportunity_id']) }}

),

renamed as (

    select
        -- ids
        opportunity_id,
        lower(trim(account_domain)) as account_domain,
        registering_partner_id,

        -- strings
        stage,
        registration_status,
        upper(currency) as currency,

        -- numerics
        cast(amount as decimal(18, 4)) as amount,

        -- booleans
        coalesce(is_won, false) as is_won,
        stage in ('closed_won', 'closed_lost') as is_closed,

        -- timestamps
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('closed_at') }} as closed_at,
        {{ to_utc('registered_at') }} as registered_at,
        {{ to_utc('registration_expires_at') }} as registration_expires_at,
        {{ to_utc('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
