{{ config(materialized='view') }}
{#
    Every customer journey, converting or not, as the touches it is made of: the input of the Markov chain and of the
    Shapley characteristic function, which both need journeys that did NOT end in a conversion as well.

    - Converting journeys: one per attributed conversion, its path exactly as credited
      (int_attribution_paths, after the last-N cap).
    - Non-converting journeys: the touches that are on no conversion's path (before the cap; a touch dropped only by
      the last-N cap led to a conversion and is in neither kind), grouped per customer key and segment of its
      timeline: the touches before the same next conversion (too old to be in its window), or after the customer's
      last conversion, or all touches of a key that never converted. The same last-N cap applies.

    A journey is identified by (is_converting, journey_key, journey_segment): journey_key is the conversion_id of a
    converting journey, the customer_key of a non-converting one; journey_segment is the sequence number of the
    conversion a non-converting journey precedes, null after the last conversion (or without any) and for
    converting journeys. No journey id string is built: these are all touches, and the keys are only grouped on.
    customer_key is the customer the journey belongs to (journeys are counted per customer, incrementally:
    int_attribution_markov_customer_transitions, int_attribution_partner_set_journeys).

    A view: it is read twice and materialising all touches would cost more than scanning them again.
#}
{%- set settings = attribution_settings() %}

with

touchpoints as (

    select * from {{ ref('int_touchpoints_resolved') }}

),

conversions as (

    select * from {{ ref('int_conversions_converted') }}

),

segmented_touches as (

    select * from {{ ref('int_attribution_touches_segmented') }}

),

pairs as (

    select * from {{ ref('int_attribution_touch_pairs') }}

),

paths as (

    select * from {{ ref('int_attribution_paths') }}

),

converting_customers as (

    select distinct conversions.customer_key
    from conversions
    where not conversions.is_refund

),

touches_on_paths as (

    select distinct pairs.touchpoint_id
    from pairs
    where pairs.is_in_window

),

converting_journeys as (

    select
        true as is_converting,
        paths.conversion_id as journey_key,
        cast(null as integer) as journey_segment,
        paths.customer_key,
        paths.partner_id,
        paths.touchpoint_id,
        paths.occurred_at
    from paths

),

unconverted_segment_touches as (

    select
        false as is_converting,
        segmented_touches.customer_key as journey_key,
        segmented_touches.next_conversion_sequence as journey_segment,
        segmented_touches.customer_key,
        segmented_touches.partner_id,
        segmented_touches.touchpoint_id,
        segmented_touches.occurred_at
    from segmented_touches
    left join touches_on_paths
        on segmented_touches.touchpoint_id = touches_on_paths.touchpoint_id
    where touches_on_paths.touchpoint_id is null

),

never_converting_touches as (

    select
        false as is_converting,
        touchpoints.customer_key as journey_key,
        cast(null as integer) as journey_segment,
        touchpoints.customer_key,
        touchpoints.partner_id,
        touchpoints.touchpoint_id,
        touchpoints.occurred_at
    from touchpoints
    left join converting_customers
        on touchpoints.customer_key = converting_customers.customer_key
    where converting_customers.customer_key is null

),

non_converting_touches as (

    select * from unconverted_segment_touches
    union all
    select * from never_converting_touches

),

{%- if settings.max_touches is not none %}

non_converting_ranked as (

    select
        non_converting_touches.*,
        row_number() over (
            partition by non_converting_touches.journey_key, non_converting_touches.journey_segment
            order by non_converting_touches.occurred_at desc, non_converting_touches.touchpoint_id desc
        ) as rank_from_end
    from non_converting_touches

),

non_converting_journeys as (

    select
        non_converting_ranked.is_converting,
        non_converting_ranked.journey_key,
        non_converting_ranked.journey_segment,
        non_converting_ranked.customer_key,
        non_converting_ranked.partner_id,
        non_converting_ranked.touchpoint_id,
        non_converting_ranked.occurred_at
    from non_converting_ranked
    where non_converting_ranked.rank_from_end <= {{ settings.max_touches }}

),
{%- else %}

    non_converting_journeys as (

        select * from non_converting_touches

    ),
{%- endif %}

final as (

    select * from converting_journeys
    union all
    select * from non_converting_journeys

)

select * from final
