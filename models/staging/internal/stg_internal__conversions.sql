with

source as (

    select * from {{ source('internal', 'conversions') }}

),

renamed as (

    select
        -- ids (the raw email is hashed here and goes no further)
        conversion_id,
        customer_id,
        case when email is not null then {{ hash_email('email') }} end as email_sha256,
        anonymous_id,
        refunded_conversion_id,

        -- strings
        conversion_type,
        upper(currency) as currency,

        -- numerics (in the conversion's own currency)
        cast(revenue as decimal(18, 4)) as revenue,
        cast(gross_margin as decimal(18, 4)) as gross_margin,

        -- booleans
        conversion_type = 'refund' as is_refund,

        -- timestamps
        {{ to_utc('converted_at') }} as converted_at,
        {{ to_utc('_loaded_at') }} as loaded_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _load_id as load_id

    from source

)

select * from renamed
