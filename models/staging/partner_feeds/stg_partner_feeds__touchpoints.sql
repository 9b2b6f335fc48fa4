with

source as (

    select * from {{ source('partner_feeds', 'touchpoints') }}

),

renamed as (

    select
        -- ids (event ids are unique per partner; the raw email is hashed here and goes no further)
        partner_id || ':' || event_id as touchpoint_id,
        event_id,
        partner_id,
        campaign_id,
        coalesce(
            case when email is not null then {{ hash_email('email') }} end,
            lower(email_sha256)
        ) as email_sha256,
        customer_id,
        anonymous_id,
        lower(trim(account_domain)) as account_domain,

        -- strings
        case
            when customer_id is not null then 'customer_id'
            when email is not null then 'email'
            when email_sha256 is not null then 'email_sha256'
            else 'anonymous_id'
        end as identifier_type,
        channel,
        touch_type,
        utm_source,
        utm_medium,
        utm_campaign,
        referral_code,

        -- timestamps
        {{ to_utc('occurred_at') }} as occurred_at,
        {{ to_utc('_loaded_at') }} as loaded_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _load_id as load_id

    from source

)

select * from renamed
