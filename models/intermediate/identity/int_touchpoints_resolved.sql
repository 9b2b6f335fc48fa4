{#
    Each partner touch with the customer it resolves to. A touch is matched on the strongest identifier it carries:
    customer id, then email hash, then anonymous id. A touch that matches no known customer keeps a key of its own
    (`<identifier type>:<value>`) so that non-converting journeys still count for path-based models.
#}
with

touchpoints as (

    select * from {{ ref('stg_partner_feeds__touchpoints') }}

),

identifiers as (

    select * from {{ ref('int_customer_identifiers_linked') }}

),

touch_type_weights as (

    select * from {{ ref('touch_type_weights') }}

),

channel_taxonomy as (

    select * from {{ ref('channel_taxonomy') }}

),

resolved as (

    select
        touchpoints.*,
        coalesce(
            by_customer_id.customer_id,
            by_email.customer_id,
            by_anonymous_id.customer_id
        ) as resolved_customer_id,
        case
            when touchpoints.customer_id is not null then 'customer_id:' || touchpoints.customer_id
            when touchpoints.email_sha256 is not null then 'email_sha256:' || touchpoints.email_sha256
            else 'anonymous_id:' || touchpoints.anonymous_id
        end as own_identifier_key
    from touchpoints
    left join identifiers as by_customer_id
        on by_customer_id.identifier_type = 'customer_id'
        and touchpoints.customer_id = by_customer_id.identifier_value
    left join identifiers as by_email
        on by_email.identifier_type = 'email_sha256'
        and touchpoints.email_sha256 = by_email.identifier_value
    left join identifiers as by_anonymous_id
        on by_anonymous_id.identifier_type = 'anonymous_id'
        and touchpoints.anonymous_id = by_anonymous_id.identifier_value

),

final as (

    select
        -- ids
        resolved.touchpoint_id,
        resolved.partner_id,
        resolved.campaign_id,
        resolved.resolved_customer_id as customer_id,
        coalesce(resolved.resolved_customer_id, resolved.own_identifier_key) as customer_key,
        resolved.account_domain,

        -- strings
        resolved.identifier_type,
        resolved.channel,
        coalesce(channel_taxonomy.channel_group, 'other') as channel_group,
        resolved.touch_type,
        coalesce(touch_type_weights.funnel_stage, 'unknown') as funnel_stage,
        resolved.utm_source,
        resolved.utm_medium,
        resolved.utm_campaign,
        resolved.referral_code,

        -- numerics
        cast(coalesce(touch_type_weights.touch_weight, 1.0) as float8) as touch_weight,

        -- booleans
        resolved.resolved_customer_id is not null as is_customer_resolved,
        coalesce(cast(channel_taxonomy.is_paid as boolean), false) as is_paid_channel,

        -- timestamps
        resolved.occurred_at,
        cast(resolved.occurred_at as date) as occurred_on,
        resolved.loaded_at,

        -- lineage
        resolved.source_file,
        resolved.source_row_number

    from resolved
    left join touch_type_weights
        on resolved.touch_type = touch_type_weights.touch_type
    left join channel_taxonomy
        on resolved.channel = channel_taxonomy.channel

)

select * from final
