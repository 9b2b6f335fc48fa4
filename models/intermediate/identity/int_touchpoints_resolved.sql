{{ config(materialized='state_table', scope='touchpoint_id') }}
-- depends_on: {{ ref('stg_audit__build_loads') }}
{#
    Each partner touch with the customer it resolves to. A touch is matched on the strongest identifier it carries:
    customer id, then email hash, then anonymous id. A touch that matches no known customer keeps a key of its own
    (`<identifier type>:<value>`) so that non-converting journeys still count for path-based models. The
    identifiers the touch carried are kept (touch_customer_id, touch_email_sha256, touch_anonymous_id) so that it
    can be resolved again.

    Incremental (state_table, scope touchpoint_id): a night resolves the touches it loaded, and resolves again every
    earlier touch that carries an identifier whose customer changed tonight (a new link in
    int_customer_identifiers_linked: e.g. an anonymous id first seen at a checkout), so a late identity link moves
    old touches to their customer.
#}
{%- set touch_columns = [
    'touchpoint_id', 'partner_id', 'campaign_id', 'email_sha256', 'customer_id', 'anonymous_id', 'account_domain',
    'identifier_type', 'channel', 'touch_type', 'utm_source', 'utm_medium', 'utm_campaign', 'referral_code',
    'occurred_at', 'loaded_at', 'source_file', 'source_row_number',
] %}

with

linked_identifiers as (

    select * from {{ ref('int_customer_identifiers_linked') }}

),

touch_type_weights as (

    select * from {{ ref('touch_type_weights') }}

),

channel_taxonomy as (

    select * from {{ ref('channel_taxonomy') }}

),

{%- if is_state_incremental() %}

-- identifiers that now resolve to another customer than before tonight (or to one for the first time, or no more)
written_identifiers as (

    select * from {{ state_delta(ref('int_customer_identifiers_linked')) }} as written

),

retired_identifiers as (

    select * from {{ state_removed(ref('int_customer_identifiers_linked')) }} as retired

),

changed_identifiers as (

    select
        coalesce(written_identifiers.identifier_type, retired_identifiers.identifier_type) as identifier_type,
        coalesce(written_identifiers.identifier_value, retired_identifiers.identifier_value) as identifier_value
    from written_identifiers
    full outer join retired_identifiers
        on written_identifiers.identifier_key = retired_identifiers.identifier_key
    where written_identifiers.customer_id is distinct from retired_identifiers.customer_id

),

-- earlier touches carrying such an identifier (read straight from the stored rows: a CTE read four times would be
-- materialised whole)
touches_to_resolve_again as (

    select earlier_touches.touchpoint_id
    from {{ state_relation(this) }} as earlier_touches
    inner join changed_identifiers
        on changed_identifiers.identifier_type = 'customer_id'
        and earlier_touches.touch_customer_id = changed_identifiers.identifier_value
    union
    select earlier_touches.touchpoint_id
    from {{ state_relation(this) }} as earlier_touches
    inner join changed_identifiers
        on changed_identifiers.identifier_type = 'email_sha256'
        and earlier_touches.touch_email_sha256 = changed_identifiers.identifier_value
    union
    select earlier_touches.touchpoint_id
    from {{ state_relation(this) }} as earlier_touches
    inner join changed_identifiers
        on changed_identifiers.identifier_type = 'anonymous_id'
        and earlier_touches.touch_anonymous_id = changed_identifiers.identifier_value

),

{%- endif %}

touchpoints as (

    select {{ touch_columns | join(', ') }}
    from {{ ref('stg_partner_feeds__touchpoints') }}
    {%- if is_state_incremental() %}
    where load_id in {{ new_load_ids('touchpoints') }}

    union all

    select
        earlier_touches.touchpoint_id,
        earlier_touches.partner_id,
        earlier_touches.campaign_id,
        earlier_touches.touch_email_sha256 as email_sha256,
        earlier_touches.touch_customer_id as customer_id,
        earlier_touches.touch_anonymous_id as anonymous_id,
        earlier_touches.account_domain,
        earlier_touches.identifier_type,
        earlier_touches.channel,
        earlier_touches.touch_type,
        earlier_touches.utm_source,
        earlier_touches.utm_medium,
        earlier_touches.utm_campaign,
        earlier_touches.referral_code,
        earlier_touches.occurred_at,
        earlier_touches.loaded_at,
        earlier_touches.source_file,
        earlier_touches.source_row_number
    from {{ state_relation(this) }} as earlier_touches
    inner join touches_to_resolve_again
        on earlier_touches.touchpoint_id = touches_to_resolve_again.touchpoint_id
    {%- endif %}

),

-- the identity graph, reduced in an incremental build to the identifiers the touches carry
identifiers as (

    select linked_identifiers.*
    from linked_identifiers
    {%- if is_state_incremental() %}
    where linked_identifiers.identifier_value in (
        select touchpoints.customer_id from touchpoints
        union
        select touchpoints.email_sha256 from touchpoints
        union
        select touchpoints.anonymous_id from touchpoints
    )
    {%- endif %}

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

        -- the identifiers the touch carried (hashed email only), to resolve it again when a link changes
        resolved.customer_id as touch_customer_id,
        resolved.email_sha256 as touch_email_sha256,
        resolved.anonymous_id as touch_anonymous_id,

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
