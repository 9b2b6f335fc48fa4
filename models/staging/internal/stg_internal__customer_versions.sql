{#
    Every delivered version of every customer (raw.customers is a snapshot feed: a customer is delivered again when
    it changes), renamed and typed like stg_internal__customers, with the lineage that orders the versions. The
    current version of a customer is its last one loaded: latest loaded_at, then source_file, then
    source_row_number (the order stg_internal__customers applies to all customers). Incremental models pick it for
    the few customers a night delivers, without ranking every version of every customer.
#}
with

source as (

    select * from {{ source('internal', 'customers') }}

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
        {{ to_utc('_loaded_at') }} as loaded_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _load_id as load_id

    from source

)

select * from renamed
